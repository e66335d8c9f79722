import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCgroupEvents } from './cgroup-events';
import { readFixture, reverseLines, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parseCgroupEvents', () => {
  it('reads a populated, thawed live 6.1 cgroup', () => {
    assert.deepEqual(parseCgroupEvents(readFixture('6.1', 'cgroup.events')), { populated: true, frozen: false });
  });

  it('reads frozen from a live 6.18 cgroup frozen through cgroup.freeze', () => {
    assert.deepEqual(parseCgroupEvents(readFixture('6.18', 'frozen/cgroup.events')), { populated: true, frozen: true });
  });

  it('reads a live 6.1 cgroup that never held a process as not populated', () => {
    assert.deepEqual(parseCgroupEvents(readFixture('6.1', 'idle/cgroup.events')), { populated: false, frozen: false });
  });

  it('reads a 5.10 cgroup.events', () => {
    assert.deepEqual(parseCgroupEvents(readFixture('5.10', 'cgroup.events')), { populated: true, frozen: false });
  });

  it('leaves frozen out when a kernel does not print it', () => {
    const events = parseCgroupEvents('populated 1\n');
    assert.deepEqual(events, { populated: true });
    assert.equal(events !== undefined && 'frozen' in events, false);
  });

  it('finds the keys by name whatever the line order and with or without the trailing newline', () => {
    const text = readFixture('6.18', 'frozen/cgroup.events');
    assert.deepEqual(parseCgroupEvents(reverseLines(text)), { populated: true, frozen: true });
    assert.deepEqual(parseCgroupEvents(withoutTrailingNewline(text)), { populated: true, frozen: true });
    assert.deepEqual(parseCgroupEvents('frozen 0\nfuture 1\npopulated 0'), { populated: false, frozen: false });
  });

  it('returns undefined for an empty file or one without populated', () => {
    assert.equal(parseCgroupEvents(''), undefined);
    assert.equal(parseCgroupEvents('frozen 1\n'), undefined);
  });
});
