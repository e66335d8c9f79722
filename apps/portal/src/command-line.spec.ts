import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinCommand, splitCommand } from './command-line';

describe('the workload command line', () => {
  it('splits on whitespace and keeps quoted words whole', () => {
    assert.deepEqual(splitCommand('/bin/sh -c "while :; do :; done"'), ['/bin/sh', '-c', 'while :; do :; done']);
    assert.deepEqual(splitCommand(`/bin/sh -c "echo '<script>window.__xss=2</script>'"`), ['/bin/sh', '-c', "echo '<script>window.__xss=2</script>'"]);
    assert.deepEqual(splitCommand('  /bin/echo  \'a  b\'  c\\ d "" '), ['/bin/echo', 'a  b', 'c d', '']);
    assert.deepEqual(splitCommand('/bin/echo "say \\"hi\\"" \'$HOME\''), ['/bin/echo', 'say "hi"', '$HOME']);
  });

  it('refuses an unclosed quote rather than guessing', () => {
    assert.throws(() => splitCommand('/bin/sh -c "echo'), /unclosed double quote/);
  });

  it('joins argv back into a line that splits to the same words', () => {
    const argv = ['/bin/sh', '-c', "echo 'it''s' done", 'plain'];
    assert.equal(joinCommand(['/bin/sleep', '60']), '/bin/sleep 60');
    assert.deepEqual(splitCommand(joinCommand(argv)), argv);
  });
});
