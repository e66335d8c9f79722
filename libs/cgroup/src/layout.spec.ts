import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import { attachedDir, CgroupPathError, fileIn, legacyMonitorDir, monitorDir, tenantDir, workloadDir } from './layout';

const HOSTILE = [
  '..',
  '../..',
  '../etc',
  'a/..',
  'a/../../b',
  '/etc',
  'ab/cd',
  'a\0b',
  'ab\0',
  '.',
  '',
  'a'.repeat(33),
  'a'.repeat(4096),
  'аcme', // Cyrillic а
  'ａｃｍｅ', // fullwidth
  'acme\u200b', // zero-width space
  'ACME',
  'acme ',
  ' acme',
  '-acme',
  'acme-',
  'ac\nme',
  'ac%2e%2e',
  '%2e%2e',
  'a\\b',
  'ﬁle', // ligature that NFKC folds to "file"
];

/** Deterministic pseudo-random strings over an alphabet rich in path syntax. */
function* fuzz(count: number): Generator<string> {
  const alphabet = ['.', '/', '\\', '\0', 'a', 'z', '0', '-', '_', ' ', '\n', '%', 'é', 'а', '\u202e', '..', '/..', '../'];
  let seed = 42;
  for (let i = 0; i < count; i++) {
    let s = '';
    const length = (seed % 12) + 1;
    for (let j = 0; j < length; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s += alphabet[seed % alphabet.length];
    }
    yield s;
  }
}

/** A relative path stays beneath ROOT when normalising it never leaves the directory. */
function staysBeneath(rel: string): boolean {
  const normal = posix.normalize(rel);
  return !rel.includes('\0') && !posix.isAbsolute(rel) && normal !== '..' && !normal.startsWith('../') && !rel.split('/').includes('..');
}

describe('cgroup path building', () => {
  it('builds the layout from valid names', () => {
    assert.equal(tenantDir('acme'), 'tenants/acme');
    assert.equal(attachedDir('acme'), 'tenants/acme/attached');
    assert.equal(workloadDir('acme', 'w1'), 'tenants/acme/workloads/w1');
    assert.equal(monitorDir('acme', 'w1'), 'tenants/acme/monitors/w1');
    assert.equal(legacyMonitorDir('w1'), 'monitors/w1');
    assert.equal(fileIn('tenants/acme', 'memory.max'), 'tenants/acme/memory.max');
  });

  it('refuses every hostile name in every path builder', () => {
    for (const name of HOSTILE) {
      for (const build of [
        tenantDir,
        attachedDir,
        (n: string) => workloadDir('acme', n),
        (n: string) => workloadDir(n, 'w1'),
        (n: string) => monitorDir('acme', n),
        (n: string) => monitorDir(n, 'w1'),
        legacyMonitorDir,
        (n: string) => fileIn('tenants/acme', n),
      ]) {
        assert.throws(() => build(name), CgroupPathError, JSON.stringify(name));
      }
    }
  });

  it('never resolves outside ROOT for ten thousand generated names', () => {
    for (const name of fuzz(10_000)) {
      for (const build of [
        tenantDir,
        attachedDir,
        (n: string) => workloadDir('acme', n),
        (n: string) => monitorDir('acme', n),
        legacyMonitorDir,
        (n: string) => fileIn('tenants/acme', n),
      ]) {
        let rel: string;
        try {
          rel = build(name);
        } catch (err) {
          assert.ok(err instanceof CgroupPathError);
          continue;
        }
        assert.ok(staysBeneath(rel), `${JSON.stringify(name)} built ${JSON.stringify(rel)}`);
        assert.equal(rel.split('/').length, rel.split('/').filter((part) => /^[a-z0-9._-]+$/.test(part) && part !== '.' && part !== '..').length);
      }
    }
  });
});
