import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** This host's cgroup v2 tree (hybrid mode: core files only). Tests create their roots below it and nowhere else. */
export const CGROUP2_MOUNT = process.env.GOVERNOR_TEST_CGROUP2 ?? '/sys/fs/cgroup/unified';

/** A fresh cgroup root for one test file; nothing is created until the service starts. */
export function scratchCgroupRoot(label: string): string {
  return join(CGROUP2_MOUNT, `governor-test-${label}-${randomBytes(4).toString('hex')}`);
}

/**
 * Removes a cgroup tree a test created: kills whatever still runs in it (workloads and their monitors
 * outlive the governor by design), then rmdir leaves first (cgroup directories go with rmdir, not rm -r).
 */
export function removeCgroupTree(dir: string): void {
  try {
    statSync(dir);
  } catch {
    return;
  }
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
    const deadline = Date.now() + 5000;
    while (/^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
  } catch {
    // no cgroup.kill (before 5.14), or a cgroup without events: rmdir reports what is left
  }
  removeTree(dir);
}

function removeTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  }
  rmdirSync(dir);
}

/** A scratch GOVERNOR_RUN_DIR: namespace bind mounts and workload state of one test file. */
export function scratchRunDir(label: string): string {
  return join('/run', `governor-test-${label}-${randomBytes(4).toString('hex')}`);
}

/** Unmounts everything below a scratch run dir (namespace files, the shared ns mount) and removes it. */
export function removeRunDir(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
  // A lazy unmount detaches a mount with everything mounted below it, so only the outermost mount points need
  // one: at 1,000 tenants the run dir holds about 10,000 mounts below its homes and ns mounts, and unmounting
  // them one by one (each a scan of the host's whole mount table and an RCU grace period) took over 45 minutes
  // on a loaded host, during which every tenant init on the host slowed down with the mount count. A point is
  // named once for each mount stacked on it (a mount-namespace file is a namespace bound on a private bind of
  // the file itself), in one umount for many points.
  const points = new Set(mounts);
  const outermost = mounts.filter((point) => !ancestorsOf(point, dir).some((ancestor) => points.has(ancestor)));
  for (let i = 0; i < outermost.length; i += 256) spawnSync('umount', ['-l', ...outermost.slice(i, i + 256)]);
  rmSync(dir, { recursive: true, force: true });
}

/** The directories between `dir` (included) and `point` (excluded). */
function ancestorsOf(point: string, dir: string): string[] {
  const ancestors: string[] = [];
  for (let at = point.lastIndexOf('/'); at >= dir.length; at = point.lastIndexOf('/', at - 1)) ancestors.push(point.slice(0, at));
  return ancestors;
}

/** A scratch nftables table name, so that test runs never touch each other's (or a real governor's) rules. */
export function scratchFirewallTable(label: string): string {
  return `governor_test_${label.replace(/[^a-z0-9]/g, '')}_${randomBytes(3).toString('hex')}`;
}

/**
 * Deletes a scratch firewall table. A table that was never made is fine; any other failure throws: a table
 * left behind slows every nft listing on the host (1,000-tenant tables once made each dump take a second).
 */
export function removeFirewallTable(table: string): void {
  const run = spawnSync('nft', ['delete', 'table', 'inet', table], { encoding: 'utf8', timeout: 120_000 });
  if (run.status === 0 || /No such file or directory/.test(run.stderr)) return;
  throw new Error(`nft delete table inet ${table}: ${run.error?.message ?? (run.status === null ? `killed by ${run.signal}` : run.stderr.trim())}`);
}

export interface HostScratch {
  root: string;
  runDir: string;
  firewallTable: string;
  /** the environment of a governor in role all that keeps to these scratch places */
  env: Record<string, string>;
  /** kills what outlives the governor, unmounts, removes the cgroups and the firewall table */
  cleanup(): void;
}

/** Scratch cgroup root, run dir and firewall table for a test file that runs a governor against this host. */
export function hostScratch(label: string): HostScratch {
  const root = scratchCgroupRoot(label);
  const runDir = scratchRunDir(label);
  const firewallTable = scratchFirewallTable(label);
  return {
    root,
    runDir,
    firewallTable,
    env: { GOVERNOR_ROLE: 'all', GOVERNOR_CGROUP_ROOT: root, GOVERNOR_RUN_DIR: runDir, GOVERNOR_FIREWALL_TABLE: firewallTable },
    cleanup: () => {
      // Every step runs even when an earlier one fails, so that one leftover does not leave the others.
      const failures: unknown[] = [];
      for (const step of [() => removeCgroupTree(root), () => removeRunDir(runDir), () => removeFirewallTable(firewallTable)]) {
        try {
          step();
        } catch (err) {
          failures.push(err);
        }
      }
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** The controllers Governor manages, in the order the API lists them. */
const MANAGED = ['cpu', 'cpuset', 'io', 'memory', 'pids'];

/**
 * What this host gives a cgroup made below CGROUP2_MOUNT, so that host tests assert what they see on a
 * hybrid host (no controller in the v2 tree) and on a full cgroup v2 host alike.
 */
export function hostCgroupFacts(): { mode: 'unified' | 'hybrid'; available: string[]; missing: string[] } {
  const enabled = readFileSync(join(CGROUP2_MOUNT, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/).filter(Boolean);
  const available = MANAGED.filter((controller) => enabled.includes(controller));
  return {
    mode: CGROUP2_MOUNT === '/sys/fs/cgroup' ? 'unified' : 'hybrid',
    available,
    missing: MANAGED.filter((controller) => !available.includes(controller)),
  };
}
