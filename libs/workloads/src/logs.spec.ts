import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { completeUtf8Length, readLogAfter, tailLog } from './logs';

const dir = mkdtempSync(join(tmpdir(), 'governor-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('following a log with cursors', () => {
  it('reads from the start, then only what was appended after each cursor', async () => {
    writeFileSync(join(dir, 'stdout.log'), 'one\ntwo\n');
    const first = await readLogAfter(dir, 'stdout', '0');
    assert.equal(first.text, 'one\ntwo\n');
    const idle = await readLogAfter(dir, 'stdout', first.cursor);
    assert.deepEqual(idle, { text: '', cursor: first.cursor });
    appendFileSync(join(dir, 'stdout.log'), 'three\n');
    assert.equal((await readLogAfter(dir, 'stdout', first.cursor)).text, 'three\n');
  });

  it('follows the file into stdout.log.1 when the monitor rotates it, then reads the new file', async () => {
    writeFileSync(join(dir, 'stdout.log'), 'a\n');
    const start = await readLogAfter(dir, 'stdout', '0');
    appendFileSync(join(dir, 'stdout.log'), 'b\n');
    renameSync(join(dir, 'stdout.log'), join(dir, 'stdout.log.1'));
    writeFileSync(join(dir, 'stdout.log'), 'c\n');
    const next = await readLogAfter(dir, 'stdout', start.cursor);
    assert.equal(next.text, 'b\nc\n');
    assert.equal((await readLogAfter(dir, 'stdout', next.cursor)).text, '');
  });

  it('gives the end of the tail as the cursor, so a follow after a tail repeats nothing', async () => {
    writeFileSync(join(dir, 'stderr.log'), 'x\ny\nz\n');
    const tail = await tailLog(dir, 'stderr', 2);
    assert.equal(tail.text, 'y\nz\n');
    appendFileSync(join(dir, 'stderr.log'), 'w\n');
    assert.equal((await readLogAfter(dir, 'stderr', tail.cursor)).text, 'w\n');
  });

  it('tails an empty log as nothing, not as an empty line', async () => {
    writeFileSync(join(dir, 'stderr.log'), '');
    assert.equal((await tailLog(dir, 'stderr', 5)).text, '');
  });

  it('keeps the cursor on a stream that has no file yet', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    assert.deepEqual(await readLogAfter(empty, 'stdout', '0'), { text: '', cursor: '0' });
  });

  it('never ends a read inside a UTF-8 character', () => {
    const euro = Buffer.from('a€'); // € is 3 bytes
    assert.equal(completeUtf8Length(euro), 4);
    assert.equal(completeUtf8Length(euro.subarray(0, 3)), 1);
    assert.equal(completeUtf8Length(euro.subarray(0, 2)), 1);
    assert.equal(completeUtf8Length(Buffer.from('ab')), 2);
  });
});
