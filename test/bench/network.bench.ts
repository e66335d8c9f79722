import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KoffiNative } from '../../libs/native/src/native';
import { must } from '../../libs/network/src/command';
import { TenantNamespaces } from '../../libs/network/src/namespaces';
import { hostInterfaceName } from '../../libs/network/src/tenant-link';
import { applyTenantNetwork, removeTenantNetwork, type TenantAddressing } from '../../libs/network/src/tenant-network';
import { removeRunDir, scratchRunDir } from '../support/cgroup-root';
import { cleanupOnSignal, fixed, millis, report, seconds, summarize, times, type Summary } from './stats';

// Tenant network setup with the real code (TenantNamespaces.ensure, ensureLink and ensureShaping through
// applyTenantNetwork; removeTenantNetwork) against a floor measured in the same run: the bare commands that
// make the same netns, veth pair, addresses, loopback and default route and nothing else, three processes
// per tenant (unshare --net=FILE; ip -batch on the host; nsenter ip -batch inside). The floor makes no user
// namespace, disables no IPv6, and reads nothing back; Governor reads every setting before writing it.
//
// Four phases, on the same tenants and addresses each time. One at a time (create, then remove): Governor's
// tenant i, then the floor's tenant i, and so on, so that drift of this shared machine hits both alike; a
// sample is one tenant's call, and the total is the sum of one way's samples. All at once (create, then
// remove; Governor's turn, then the floor's): everything is requested together (Promise.all); a sample runs
// from that moment to the end of one tenant's call, and the total is the phase's wall time.
// GOVERNOR_BENCH_NET_BEFORE=<root of another built checkout> adds a third way, 'before': that build's
// applyTenantNetwork and removeTenantNetwork (its dist/ and its native library), run beside this one's in the
// same phases, for a before-and-after in one run.
// Addresses are /31s from GOVERNOR_BENCH_NET_POOL (a /16, default 10.250.0.0/16): its first quarter for
// Governor, the second for 'before', the upper half for the floor, routed only to the veths made here. Links,
// nsfs mounts and mounts below the scratch run dir are counted before, in between and after; anything of this
// run left behind fails it.

const TENANTS = Number(process.env.GOVERNOR_BENCH_NET_TENANTS ?? 100);
/** distinguishes this run's interfaces from any other run's or a real governor's */
const RUN = randomBytes(2).toString('hex');
/** the 'before' way's tag: hostInterfaceName gives its tenants gv<tag><index> */
const BEFORE_RUN = ((parseInt(RUN, 16) + 1) & 0xffff).toString(16).padStart(4, '0');
const BEFORE_ROOT = process.env.GOVERNOR_BENCH_NET_BEFORE;
const UID_BASE = 0x7000_0000;
/** the first two octets of the /16 the addresses come from */
const POOL = netPool(process.env.GOVERNOR_BENCH_NET_POOL ?? '10.250.0.0/16');

function netPool(cidr: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  if (!match || Number(match[1]) > 255 || Number(match[2]) > 255)
    throw new Error(`GOVERNOR_BENCH_NET_POOL must be an IPv4 /16 such as 10.222.0.0/16, not ${JSON.stringify(cidr)}`);
  if (TENANTS > 64 * 128) throw new Error(`${TENANTS} tenants need more than a quarter of ${cidr} each way`);
  return `${match[1]}.${match[2]}`;
}

interface Tenant {
  name: string;
  id: string;
  hostInterface: string;
  addressing: TenantAddressing;
}

/** Tenant i of a way: uuid-like id with the way's tag, so that hostInterfaceName gives gv<tag><index>. */
function tenant(i: number, tag: string, thirdOctetBase: number, uidBase: number): Tenant {
  const id = `${tag}${i.toString(16).padStart(6, '0')}-0000-4000-8000-000000000000`;
  return { name: `n${i}`, id, hostInterface: hostInterfaceName(id), addressing: addressing(i, thirdOctetBase, uidBase + i * 65536) };
}

function addressing(i: number, thirdOctetBase: number, uidBase: number): TenantAddressing {
  const net = `${POOL}.${thirdOctetBase + (i >> 7)}`;
  return { uidBase, hostAddress: `${net}.${(i & 127) * 2}`, tenantAddress: `${net}.${(i & 127) * 2 + 1}`, prefix: 31 };
}

interface Way {
  name: string;
  /** namespace bind mounts a tenant has: Governor user and net, the floor net */
  nsfsPerTenant: number;
  create: (i: number) => Promise<void>;
  remove: (i: number) => Promise<void>;
}

/** The tenant network code of one build: this one's, or another checkout's dist/ (GOVERNOR_BENCH_NET_BEFORE). */
interface NetworkCode {
  TenantNamespaces: typeof TenantNamespaces;
  KoffiNative: typeof KoffiNative;
  applyTenantNetwork: typeof applyTenantNetwork;
  removeTenantNetwork: typeof removeTenantNetwork;
}

const THIS_BUILD: NetworkCode = { TenantNamespaces, KoffiNative, applyTenantNetwork, removeTenantNetwork };

/** Another checkout's build, which loads its own native library (found from its dist/). */
async function otherBuild(root: string): Promise<NetworkCode> {
  const at = (rel: string) => join(root, 'dist', rel);
  if (!existsSync(at('libs/network/src/tenant-network.js'))) throw new Error(`GOVERNOR_BENCH_NET_BEFORE=${root}: no dist/ built there`);
  const network = (await import(at('libs/network/src/tenant-network.js'))) as typeof import('../../libs/network/src/tenant-network');
  const namespaces = (await import(at('libs/network/src/namespaces.js'))) as typeof import('../../libs/network/src/namespaces');
  const native = (await import(at('libs/native/src/native.js'))) as typeof import('../../libs/native/src/native');
  return {
    TenantNamespaces: namespaces.TenantNamespaces,
    KoffiNative: native.KoffiNative,
    applyTenantNetwork: network.applyTenantNetwork,
    removeTenantNetwork: network.removeTenantNetwork,
  };
}

/** Governor's real path, of this build ('governor') or of another ('before'), with its own namespace dir. */
function governorWay(name: string, code: NetworkCode, runDir: string, tag: string, thirdOctetBase: number, uidBase: number): Way {
  const namespaces = new code.TenantNamespaces(new code.KoffiNative(), runDir);
  namespaces.prepare();
  const tenants = Array.from({ length: TENANTS }, (_, i) => tenant(i, tag, thirdOctetBase, uidBase));
  return {
    name,
    nsfsPerTenant: 2,
    create: async (i) => {
      const t = tenants[i];
      const result = await code.applyTenantNetwork(namespaces, t.name, t.id, t.addressing, undefined);
      if (!result.changes.some((change) => change.startsWith('created veth'))) throw new Error(`${t.name}: no veth created: ${result.changes.join('; ')}`);
    },
    remove: (i) => code.removeTenantNetwork(namespaces, tenants[i].name, tenants[i].id),
  };
}

function floorWay(runDir: string): Way {
  const dir = (i: number) => join(runDir, 'floor', `f${i}`);
  const link = (i: number) => `gf${RUN}${i.toString(16).padStart(6, '0')}`;
  return {
    name: 'floor',
    nsfsPerTenant: 1,
    create: async (i) => {
      const net = join(dir(i), 'net');
      const a = addressing(i, 128, 0);
      mkdirSync(dir(i), { recursive: true });
      writeFileSync(net, '');
      await must(['unshare', `--net=${net}`, 'true']);
      await must(
        ['ip', '-batch', '-'],
        `link add ${link(i)} type veth peer name eth0 netns ${net}\naddr add ${a.hostAddress}/31 dev ${link(i)}\nlink set ${link(i)} up\n`,
      );
      await must(
        ['nsenter', `--net=${net}`, '--', 'ip', '-batch', '-'],
        `link set lo up\naddr add ${a.tenantAddress}/31 dev eth0\nlink set eth0 up\nroute add default via ${a.hostAddress} dev eth0\n`,
      );
    },
    remove: async (i) => {
      await must(['ip', 'link', 'del', link(i)]);
      await must(['umount', join(dir(i), 'net')]);
      rmSync(dir(i), { recursive: true });
    },
  };
}

interface Phase {
  way: string;
  phase: 'create one at a time' | 'remove one at a time' | 'create all at once' | 'remove all at once';
  totalSeconds: number;
  perTenant: Summary;
}

async function oneAtATime(ways: Way[], phase: Phase['phase'], step: (way: Way, i: number) => Promise<void>): Promise<Phase[]> {
  const samples = ways.map((): number[] => []);
  for (let i = 0; i < TENANTS; i++) {
    for (const [k, way] of ways.entries()) {
      const one = process.hrtime.bigint();
      await step(way, i);
      samples[k].push(millis(one));
    }
  }
  return ways.map((way, k) => ({ way: way.name, phase, totalSeconds: samples[k].reduce((sum, ms) => sum + ms, 0) / 1000, perTenant: summarize(samples[k]) }));
}

async function allAtOnce(way: Way, phase: Phase['phase'], step: (i: number) => Promise<void>): Promise<Phase> {
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: TENANTS }, async (_, i) => {
      await step(i);
      samples.push(millis(start));
    }),
  );
  return { way: way.name, phase, totalSeconds: seconds(start), perTenant: summarize(samples) };
}

interface Census {
  /** links of this run (gv<run>…, gv<before run>…, gf<run>…) */
  links: number;
  /** every link whose name starts with gv, whoever made it (informational: other runs may be at work) */
  gvLinksOnHost: number;
  /** namespace bind mounts below the run dir */
  nsfsMounts: number;
  /** every mount below the run dir, the shared ns mount included */
  mounts: number;
}

async function census(runDir: string): Promise<Census> {
  const names = (await must(['ip', '-o', 'link', 'show'])).split('\n').map((line) => line.split(': ')[1]?.split('@')[0] ?? '');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[4] === runDir || fields[4]?.startsWith(`${runDir}/`));
  return {
    links: names.filter((name) => name.startsWith(`gv${RUN}`) || name.startsWith(`gv${BEFORE_RUN}`) || name.startsWith(`gf${RUN}`)).length,
    gvLinksOnHost: names.filter((name) => name.startsWith('gv')).length,
    nsfsMounts: mounts.filter((fields) => fields[fields.indexOf('-') + 1] === 'nsfs').length,
    mounts: mounts.length,
  };
}

/** Checks this run's links and namespace mounts against what the phase should have left. */
function expectCensus(when: string, found: Census, links: number, nsfsMounts: number): void {
  if (found.links !== links || found.nsfsMounts !== nsfsMounts)
    throw new Error(`${when}: expected ${links} links and ${nsfsMounts} namespace mounts of this run, found ${JSON.stringify(found)}`);
}

/** Whatever a failed or interrupted run left: this run's links (both ends go together), then every mount below the run dir. */
function removeEverything(runDir: string): void {
  const links =
    spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.match(new RegExp(`\\b(g[vf]${RUN}|gv${BEFORE_RUN})[0-9a-f]{6}\\b`, 'g')) ?? [];
  for (const link of new Set(links)) spawnSync('ip', ['link', 'del', link]);
  removeRunDir(runDir);
}

const PHASES: Phase['phase'][] = ['create one at a time', 'remove one at a time', 'create all at once', 'remove all at once'];

async function main(): Promise<void> {
  const runDir = scratchRunDir('bench-net');
  const beforeCode = BEFORE_ROOT === undefined ? undefined : await otherBuild(BEFORE_ROOT);
  const before = await census(runDir);
  if (before.links !== 0) throw new Error(`links of run ${RUN} exist already: ${JSON.stringify(before)}`);
  const phases: Phase[] = [];
  const during: Record<string, Census> = {};
  const stopWatching = cleanupOnSignal(() => removeEverything(runDir));
  try {
    const ways = [
      governorWay('governor', THIS_BUILD, runDir, RUN, 0, UID_BASE),
      ...(beforeCode ? [governorWay('before', beforeCode, join(runDir, 'before'), BEFORE_RUN, 64, UID_BASE + 0x1000_0000)] : []),
      floorWay(runDir),
    ];
    const all = (count: (way: Way) => number) => ways.reduce((sum, way) => sum + count(way), 0);
    phases.push(...(await oneAtATime(ways, 'create one at a time', (way, i) => way.create(i))));
    during['both, created one at a time'] = await census(runDir);
    expectCensus(
      'created one at a time',
      during['both, created one at a time'],
      all(() => TENANTS),
      all((way) => way.nsfsPerTenant * TENANTS),
    );
    phases.push(...(await oneAtATime(ways, 'remove one at a time', (way, i) => way.remove(i))));
    expectCensus('removed one at a time', await census(runDir), 0, 0);
    for (const way of ways) {
      phases.push(await allAtOnce(way, 'create all at once', way.create));
      during[`${way.name}, created all at once`] = await census(runDir);
      expectCensus(`${way.name}, created all at once`, during[`${way.name}, created all at once`], TENANTS, way.nsfsPerTenant * TENANTS);
      phases.push(await allAtOnce(way, 'remove all at once', way.remove));
      expectCensus(`${way.name}, removed all at once`, await census(runDir), 0, 0);
    }
  } finally {
    stopWatching();
    removeEverything(runDir);
  }
  const after = await census(runDir);
  if (after.links !== 0 || after.nsfsMounts !== 0 || after.mounts !== 0 || existsSync(runDir))
    throw new Error(`the benchmark left these behind: ${JSON.stringify(after)}${existsSync(runDir) ? ` and ${runDir}` : ''}`);

  const wayOf = (name: string, p: Phase) => phases.find((q) => q.way === name && q.phase === p.phase);
  const ratio = (p: Phase, base: Phase | undefined) => (base ? { total: p.totalSeconds / base.totalSeconds, p50: p.perTenant.p50 / base.perTenant.p50 } : null);
  report(
    'tenant-network',
    {
      tenants: TENANTS,
      unit: { totalSeconds: 's', perTenant: 'ms' },
      phases,
      ratios: Object.fromEntries(phases.filter((p) => p.way === 'governor').map((p) => [p.phase, ratio(p, wayOf('floor', p))])),
      ...(BEFORE_ROOT === undefined
        ? {}
        : {
            before: BEFORE_ROOT,
            ratiosBefore: Object.fromEntries(phases.filter((p) => p.way === 'before').map((p) => [p.phase, ratio(p, wayOf('floor', p))])),
            ratiosToBefore: Object.fromEntries(phases.filter((p) => p.way === 'governor').map((p) => [p.phase, ratio(p, wayOf('before', p))])),
          }),
      census: { before, during, after },
    },
    [...phases]
      .sort((p, q) => PHASES.indexOf(p.phase) - PHASES.indexOf(q.phase))
      .map((p) => {
        const floor = p.way === 'floor' ? undefined : wayOf('floor', p);
        const old = p.way === 'governor' ? wayOf('before', p) : undefined;
        return {
          phase: p.phase,
          way: p.way,
          'total s': fixed(p.totalSeconds, 3),
          'p50 ms': fixed(p.perTenant.p50, 1),
          'p99 ms': fixed(p.perTenant.p99, 1),
          'mean ms': fixed(p.perTenant.mean, 1),
          'total ÷ floor': floor ? times(p.totalSeconds, floor.totalSeconds) : '',
          'p50 ÷ floor': floor ? times(p.perTenant.p50, floor.perTenant.p50) : '',
          ...(BEFORE_ROOT === undefined ? {} : { 'total ÷ before': old ? times(p.totalSeconds, old.totalSeconds) : '' }),
        };
      }),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
