import { randomBytes } from 'node:crypto';
import { readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** This host's cgroup v2 tree (hybrid mode: core files only). Tests create their roots below it and nowhere else. */
export const CGROUP2_MOUNT = process.env.GOVERNOR_TEST_CGROUP2 ?? '/sys/fs/cgroup/unified';

/** A fresh cgroup root for one test file; nothing is created until the service starts. */
export function scratchCgroupRoot(label: string): string {
  return join(CGROUP2_MOUNT, `governor-test-${label}-${randomBytes(4).toString('hex')}`);
}

/** Removes a cgroup tree a test created, leaves first (cgroup directories go with rmdir, not rm -r). */
export function removeCgroupTree(dir: string): void {
  try {
    statSync(dir);
  } catch {
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  }
  rmdirSync(dir);
}
