import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMemoryEvents, parseMemoryStat, parseSwapEvents } from './memory';
import { readFixture, reverseLines, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parseMemoryStat', () => {
  it('reads the named keys of a live 6.1 memory.stat', () => {
    const { all, ...named } = parseMemoryStat(readFixture('6.1', 'memory.stat'));
    assert.deepEqual(named, {
      anon: 1658880,
      file: 81920,
      kernel: 1474560,
      kernelStack: 245760,
      pagetables: 552960,
      sock: 0,
      shmem: 0,
      fileMapped: 0,
      fileDirty: 0,
      fileWriteback: 0,
      inactiveAnon: 1597440,
      activeAnon: 61440,
      inactiveFile: 77824,
      activeFile: 4096,
      unevictable: 0,
      slab: 404160,
      pgfault: 19781,
      pgmajfault: 14,
    });
    assert.equal(all.size, 51);
  });

  it('keeps keys without a named field in the full map', () => {
    const { all } = parseMemoryStat(readFixture('6.1', 'memory.stat'));
    assert.equal(all.get('pgscan_direct'), 5092);
    assert.equal(all.get('zswapped'), 0);
    assert.equal(all.get('thp_collapse_alloc'), 8);
  });

  it('leaves kernel and pagetables out on 5.10, which does not print them', () => {
    const stat = parseMemoryStat(readFixture('5.10', 'memory.stat'));
    assert.equal(stat.anon, 142135296);
    assert.equal(stat.kernelStack, 1343488);
    assert.equal(stat.inactiveFile, 21884928);
    assert.equal('kernel' in stat, false);
    assert.equal('pagetables' in stat, false);
    assert.equal(stat.all.has('pgscan_kswapd'), false);
    assert.equal(stat.all.get('pgscan'), 24417);
  });

  it('offers the keys a 6.6 kernel adds through the full map', () => {
    const stat = parseMemoryStat(readFixture('6.6', 'memory.stat'));
    assert.equal(stat.all.get('pgscan_khugepaged'), 0);
    assert.equal(stat.all.get('pgsteal_kswapd'), 640229);
    assert.equal(stat.file, 1217634304);
  });

  it('finds values by key whatever the line order and with or without the trailing newline', () => {
    const text = readFixture('6.1', 'root/memory.stat');
    const { all, ...named } = parseMemoryStat(text);
    for (const variant of [reverseLines(text), withoutTrailingNewline(text)]) {
      const { all: variantAll, ...variantNamed } = parseMemoryStat(variant);
      assert.deepEqual(variantNamed, named);
      assert.deepEqual(new Map([...variantAll].sort()), new Map([...all].sort()));
    }
  });

  it('gives only an empty map for an empty file', () => {
    assert.deepEqual(parseMemoryStat(''), { all: new Map() });
  });
});

describe('parseMemoryEvents', () => {
  it('reads oom_group_kill from a live 6.1 memory.events after a group OOM kill', () => {
    assert.deepEqual(parseMemoryEvents(readFixture('6.1', 'memory.events')), { low: 0, high: 23, max: 104, oom: 2, oomKill: 4, oomGroupKill: 1 });
  });

  it('leaves oom_group_kill out on 5.10, which predates it', () => {
    const events = parseMemoryEvents(readFixture('5.10', 'memory.events'));
    assert.deepEqual(events, { low: 0, high: 12, max: 87, oom: 1, oomKill: 1 });
    assert.equal(events !== undefined && 'oomGroupKill' in events, false);
  });

  it('reads memory.events.local the same way', () => {
    assert.deepEqual(parseMemoryEvents(readFixture('6.1', 'memory.events.local')), { low: 0, high: 23, max: 104, oom: 2, oomKill: 4, oomGroupKill: 1 });
    assert.deepEqual(parseMemoryEvents(readFixture('5.10', 'memory.events.local')), { low: 0, high: 12, max: 87, oom: 1, oomKill: 1 });
  });

  it('ignores keys newer kernels add, such as sock_throttled', () => {
    const text = 'low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\noom_group_kill 5\nsock_throttled 6\n';
    assert.deepEqual(parseMemoryEvents(text), { low: 0, high: 1, max: 2, oom: 3, oomKill: 4, oomGroupKill: 5 });
  });

  it('reads the same with reversed lines', () => {
    const text = readFixture('6.1', 'memory.events');
    assert.deepEqual(parseMemoryEvents(reverseLines(text)), parseMemoryEvents(text));
  });

  it('returns undefined for an empty file or one missing a key every supported kernel prints', () => {
    assert.equal(parseMemoryEvents(''), undefined);
    assert.equal(parseMemoryEvents('low 0\nhigh 0\nmax 0\noom 0\n'), undefined);
  });
});

describe('parseSwapEvents', () => {
  it('reads high, max and fail from a live 6.1 memory.swap.events', () => {
    assert.deepEqual(parseSwapEvents(readFixture('6.1', 'memory.swap.events')), { high: 0, max: 0, fail: 0 });
  });

  it('reads counted swap failures from a 5.10 memory.swap.events', () => {
    assert.deepEqual(parseSwapEvents(readFixture('5.10', 'memory.swap.events')), { high: 0, max: 3, fail: 3 });
  });

  it('leaves high out when a kernel does not print it', () => {
    assert.deepEqual(parseSwapEvents('max 1\nfail 2'), { max: 1, fail: 2 });
  });

  it('returns undefined for an empty file or one without fail', () => {
    assert.equal(parseSwapEvents(''), undefined);
    assert.equal(parseSwapEvents('high 0\nmax 0\n'), undefined);
  });
});
