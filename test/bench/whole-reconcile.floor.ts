import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeCgroupTree } from '../support/cgroup-root';

// The floor of the whole-reconciler benchmark: what a cold pass and a pass in sync cost with nothing around
// the kernel work. Its cgroup part is native/bench/floor.c (the mkdirs and writes; with "read", the read-back).
// Its network part is, per tenant, processes doing a tenant's network: `net-floor netns` (the namespace, a bind
// mount on a private mount of the floor's own), `ip -batch` on the host (the veth pair with its peer made in the
// namespace, the host address, link up), `nsenter --net=<ns> ip -batch` inside (lo up, the address, eth0 up, the
// default route) and `net-floor tbf` (the tbf that shapes traffic into the tenant); read back with `ip -batch`,
// `nsenter ip -batch` and `net-floor show`. iproute2 cannot enter a namespace from a batch line, so a tenant costs
// five process starts where the "one `ip -batch`" has one: the floor also reports what five starts of
// /bin/true cost per tenant, the part of it that is no syscall of the work. Not in the floor: the user namespace,
// disable_ipv6, the home, the init and the firewall, which the governor's pass does too.
//
// The floor's work per tenant must not grow with the tenants already there, or it is no floor:
//  - Until 2026-12-07 (morning) it ran `ip -n <ns>`, which also unshares a mount namespace to remount /sys there: a
//    copy of every netns bind mount on the host, so the floor grew with the square of the tenants (40 s of network
//    at 100 tenants in the guest, 1,275 s at 1,000) and flattered the governor's ratio at 1,000.
//  - Until 2026-12-07 (afternoon) it made the namespace with `ip netns add`, which remounts /run/netns shared with
//    MS_REC at every call (a walk over every namespace mount there), and the qdisc with `tc`, which dumps every link
//    of the host before it touches one (iproute2 6.1's ll_init_map): the floor at 5,000 tenants ran for more than
//    71 minutes. native/bench/net-floor.c makes the same kernel requests without either walk.

const FLOOR = join(__dirname, '..', '..', '..', 'native', 'build', 'floor');
const NET_FLOOR = join(__dirname, '..', '..', '..', 'native', 'build', 'net-floor');
/** Process starts per tenant in the floor's network part (net-floor, ip, nsenter and the ip it runs, net-floor). */
const STARTS_PER_TENANT = 5;
/** tc's "tbf rate 8mbit burst 32kb latency 50ms" in net-floor's units: bytes/s, bytes, µs. */
const TBF = '1000000 32768 50000';
const PROGRESS_EVERY = 500;
/** The most starts of /bin/true timed: 4,000 took 147 s in the guest, and 25,000 (5,000 tenants) would take 15 min. */
const PROCESS_START_SAMPLE = 4_000;
/**
 * The most tenants whose network is read back: 1,000 took 499 s in the guest. Past that, every k-th tenant is read
 * (with all N there, so each read costs what it costs among N) and the time is scaled to N: each tenant's read
 * names its own link and namespace, so its cost does not depend on how many others are read.
 */
const READ_BACK_SAMPLE = 1_000;

export interface FloorAddressing {
  host: string;
  tenant: string;
}

export interface FloorResult {
  /** floor.c's mkdirs and writes; null where the mount lacks cpu, memory or pids (a hybrid host) */
  cgroupSeconds: number | null;
  cgroupReadSeconds: number | null;
  networkSeconds: number;
  /**
   * null when the read-back was not asked for (no no-op pass to compare with it); past READ_BACK_SAMPLE tenants,
   * that many spread over all are read and the time is scaled to the tenants'
   */
  networkReadSeconds: number | null;
  /** how many tenants' networks were read back to make networkReadSeconds */
  networkReadTenants: number;
  /**
   * STARTS_PER_TENANT process starts of /bin/true per tenant, from the same shell; past PROCESS_START_SAMPLE
   * starts, that many are timed and the time scaled to the tenants' (it is per start)
   */
  processStartSeconds: number;
}

/**
 * Runs a bash script and returns the seconds it measured between its marks ($EPOCHREALTIME around the loop).
 * The script goes in a file: at 1,000 tenants it is longer than one argument may be (E2BIG past 128 KiB).
 */
function timedScript(script: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'governor-floor-'));
  const file = join(dir, 'floor.sh');
  writeFileSync(file, `set -e\nstart=$EPOCHREALTIME\n${script}\nend=$EPOCHREALTIME\necho "$start $end"\n`);
  let out: string;
  try {
    out = execFileSync('bash', [file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const [start, end] = out.trim().split('\n').pop()?.split(' ').map(Number) ?? [NaN, NaN];
  return end - start;
}

/** floor.c's writes, then its read-back, in a cgroup of its own; null where cpu, memory or pids is missing. */
export function cgroupFloor(mount: string, label: string, tenants: number): { write: number; read: number } | null {
  const controllers = readFileSync(join(mount, 'cgroup.controllers'), 'utf8').split(/\s+/);
  if (!['cpu', 'memory', 'pids'].every((c) => controllers.includes(c))) return null;
  if (!existsSync(FLOOR)) throw new Error(`${FLOOR} is missing: make -C native bench`);
  const root = join(mount, `governor-floor-${label}`);
  try {
    execFileSync('/bin/mkdir', ['-p', join(root, 'tenants')]);
    execFileSync('/bin/sh', [
      '-c',
      `echo "+cpu +memory +pids" > ${root}/cgroup.subtree_control && echo "+cpu +memory +pids" > ${root}/tenants/cgroup.subtree_control`,
    ]);
    const write = Number(execFileSync(FLOOR, [root, String(tenants)], { encoding: 'utf8' }).trim());
    const read = Number(execFileSync(FLOOR, [root, String(tenants), 'read'], { encoding: 'utf8' }).trim());
    return { write, read };
  } finally {
    removeCgroupTree(root);
  }
}

/**
 * Both parts of the floor for `tenants` tenants; `label` keeps its namespaces and links apart from any other
 * run's (names gbf<label>-<i>, links gf<label><i>), `address(i)` gives tenant i's /31.
 */
export function measureFloor(
  mount: string,
  label: string,
  tenants: number,
  address: (i: number) => FloorAddressing,
  options: { readBack: boolean } = { readBack: true },
): FloorResult {
  for (const program of [FLOOR, NET_FLOOR]) if (!existsSync(program)) throw new Error(`${program} is missing: make -C native bench`);
  // The namespaces' files, on a private mount of the floor's own: a bind mount there propagates nowhere.
  const nsDir = `/run/governor-floor-${label}`;
  const ns = (i: number) => `${nsDir}/${i}`;
  const link = (i: number) => `gf${label}${i}`;
  if (link(tenants - 1).length > 15) throw new Error(`link name ${link(tenants - 1)} is longer than 15 characters`);
  const create = Array.from({ length: tenants }, (_, i) => {
    const { host, tenant } = address(i);
    return [
      `${NET_FLOOR} netns ${ns(i)}`,
      `ip -batch - <<'EOF'\nlink add ${link(i)} type veth peer name eth0 netns ${ns(i)}\naddr add ${host}/31 dev ${link(i)}\nlink set ${link(i)} up\nEOF`,
      `nsenter --net=${ns(i)} ip -batch - <<'EOF'\nlink set lo up\naddr add ${tenant}/31 dev eth0\nlink set eth0 up\nroute add default via ${host} dev eth0\nEOF`,
      `${NET_FLOOR} tbf ${link(i)} ${TBF}`,
      // Progress on stderr (the bench's log), every PROGRESS_EVERY tenants: a long floor that is stopped still says where it was.
      ...((i + 1) % PROGRESS_EVERY === 0
        ? [`echo "floor: ${i + 1} of ${tenants} tenants' networks made after $((\${EPOCHREALTIME%.*} - \${start%.*})) s" >&2`]
        : []),
    ].join('\n');
  }).join('\n');
  const readCount = Math.min(tenants, READ_BACK_SAMPLE);
  const read = Array.from({ length: readCount }, (_, k) => Math.floor((k * tenants) / readCount))
    .map((i) =>
      [
        `ip -batch - >/dev/null <<'EOF'\nlink show dev ${link(i)}\naddr show dev ${link(i)}\nEOF`,
        `nsenter --net=${ns(i)} ip -batch - >/dev/null <<'EOF'\nlink show\naddr show dev eth0\nroute show\nEOF`,
        `${NET_FLOOR} show ${link(i)}`,
      ].join('\n'),
    )
    .join('\n');
  execFileSync('/bin/sh', ['-c', `mkdir -p ${nsDir} && mount -t tmpfs -o mode=0700 governor-floor ${nsDir} && mount --make-private ${nsDir}`]);
  try {
    const cgroup = cgroupFloor(mount, label, tenants);
    const networkSeconds = timedScript(create);
    const networkReadSeconds = options.readBack ? (timedScript(read) * tenants) / readCount : null;
    const starts = Math.min(STARTS_PER_TENANT * tenants, PROCESS_START_SAMPLE);
    const processStartSeconds = (timedScript(`for ((i = 0; i < ${starts}; i++)); do /bin/true; done`) * (STARTS_PER_TENANT * tenants)) / starts;
    return {
      cgroupSeconds: cgroup?.write ?? null,
      cgroupReadSeconds: cgroup?.read ?? null,
      networkSeconds,
      networkReadSeconds,
      networkReadTenants: options.readBack ? readCount : 0,
      processStartSeconds,
    };
  } finally {
    // The last reference to each namespace is its bind mount: unmounting them deletes every namespace, and with
    // it the veth end in it and so the host end.
    spawnSync('/bin/sh', ['-c', `umount -R ${nsDir} && rmdir ${nsDir}`], { stdio: 'ignore' });
  }
}
