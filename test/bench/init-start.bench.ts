import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KoffiNative } from '../../libs/native/src/native';
import { ROOT_TOKEN } from '../support/governor.harness';
import { MAIN, startService, type ServiceProcess } from '../support/service.process';
import { benchWorld, createTenants, metric, RECONCILED } from './governor-process';
import { cleanupOnSignal, fixed, report, summarize } from './stats';

// A tenant init's start on a host that already has GOVERNOR_BENCH_TENANTS tenants (default 100): the middle
// process of governor-tenant-init copies a mount namespace, the host's (every tenant's namespace files and
// home: about six mounts a tenant) or, with the mount template, one made at the governor's start without them.
// One world (database, cgroup root, run dir), its tenants made once; then GOVERNOR_BENCH_ROUNDS rounds
// (default 4), each of which runs every build in turn, in alternating order: the build is started on the world,
// its startup pass (one `success` per tenant) awaited, then GOVERNOR_BENCH_EXTRA tenants (default 5) are made
// one at a time, each timed from its POST to its init.pid file under the run dir (the init's namespaces bound,
// its pid known: polled every 2 ms) and to its status at its generation with the init running (GET, every
// 20 ms); the mounts of its init's view are counted, and those of the namespace its launcher copied (the
// template's when it is a mount namespace, else the host's). They are deleted again before the next build starts.
// GOVERNOR_BENCH_MAIN names another build (its dist/apps/governor/src/main.js) to alternate with this one;
// GOVERNOR_BENCH_NET the first two octets of the tenants' /16 (default 10.217).

const TENANTS = Number(process.env.GOVERNOR_BENCH_TENANTS ?? 100);
const ROUNDS = Number(process.env.GOVERNOR_BENCH_ROUNDS ?? 4);
const EXTRA = Number(process.env.GOVERNOR_BENCH_EXTRA ?? 5);
const NET = process.env.GOVERNOR_BENCH_NET ?? '10.217';
const QUOTA = { filesystem: { tmpSize: '8Mi', homeSize: '16Mi' } };
const builds = [
  { label: 'this', main: MAIN },
  ...(process.env.GOVERNOR_BENCH_MAIN === undefined ? [] : [{ label: 'other', main: process.env.GOVERNOR_BENCH_MAIN }]),
];
const auth = { Authorization: `Bearer ${ROOT_TOKEN}` };
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const log = (message: string) => process.stderr.write(`init-start: ${message} (load ${load()})\n`);

interface Sample {
  toPid: number;
  toApplied: number;
  /** mounts in the init's finished view */
  mountinfo: number;
  /** mounts in the namespace its launcher copied: the mount template's, or the host's when there is none */
  copied: number;
}

interface TenantView {
  generation: number;
  status: { observedGeneration: number; isolation: { init: { state: string } } | null } | null;
}

async function applied(url: string, name: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/tenants/${name}`, { headers: auth });
  if (res.status !== 200) return false;
  const t = (await res.json()) as TenantView;
  return t.status?.observedGeneration === t.generation && t.status.isolation?.init.state === 'running';
}

async function until(what: string, check: () => Promise<boolean> | boolean, everyMs: number, timeoutMs = 600_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); await sleep(everyMs)) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
  }
}

const CLONE_NEWNS = 0x20000;
const lines = (text: string) => text.split('\n').filter(Boolean).length;

async function oneTenant(url: string, runDir: string, name: string): Promise<Sample> {
  const pidFile = join(runDir, 'ns', name, 'init.pid');
  const start = performance.now();
  await createTenants(url, ROOT_TOKEN, [name], QUOTA, 1, 1);
  await until(`${name}'s init.pid`, () => existsSync(pidFile), 2);
  const toPid = performance.now() - start;
  await until(`${name} applied`, () => applied(url, name), 20);
  const toApplied = performance.now() - start;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const mountinfo = lines(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
  const template = join(runDir, 'mount-template');
  const copied = lines(
    new KoffiNative().nsType(template) === CLONE_NEWNS
      ? execFileSync('nsenter', [`--mount=${template}`, 'cat', '/proc/self/mountinfo'], { encoding: 'utf8' })
      : readFileSync('/proc/self/mountinfo', 'utf8'),
  );
  return { toPid, toApplied, mountinfo, copied };
}

async function remove(url: string, names: string[]): Promise<void> {
  for (const name of names) await fetch(`${url}/v1/tenants/${name}`, { method: 'DELETE', headers: auth });
  for (const name of names) await until(`${name} deleted`, async () => (await fetch(`${url}/v1/tenants/${name}`, { headers: auth })).status === 404, 100);
}

async function main(): Promise<void> {
  const world = await benchWorld('initstart', `${NET}.0.0/16`);
  const env = { ...world.env, GOVERNOR_RESYNC_INTERVAL: '10m' };
  let service: ServiceProcess | undefined;
  const removeHandlers = cleanupOnSignal(() => {
    service?.child.kill('SIGKILL');
    world.scratch.cleanup();
  });
  const samples = new Map<string, Sample[]>(builds.map((b) => [b.label, []]));
  try {
    service = await startService(env, 600_000, builds[0].main);
    const names = Array.from({ length: TENANTS }, (_, i) => `t${i}`);
    await createTenants(service.url, ROOT_TOKEN, names, QUOTA);
    const first = service;
    await until(`${TENANTS} tenants applied`, async () => (await Promise.all(names.map((n) => applied(first.url, n)))).every(Boolean), 1000, 3_600_000);
    await service.stop();
    log(`${TENANTS} tenants on the host`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
        // A template another build left is not this build's: only one this build makes at start is counted.
        while (spawnSync('umount', ['-l', join(world.scratch.runDir, 'mount-template')]).status === 0);
        service = await startService(env, 600_000, build.main);
        const url = service.url;
        await until('the startup pass', async () => (await metric(url, RECONCILED)) >= TENANTS, 200);
        const extra = Array.from({ length: EXTRA }, (_, i) => `x${round}${build.label[0]}${i}`);
        for (const name of extra) {
          const sample = await oneTenant(url, world.scratch.runDir, name);
          samples.get(build.label)!.push(sample);
          log(
            `${build.label} ${name}: init pid after ${fixed(sample.toPid, 0)} ms, applied after ${fixed(sample.toApplied, 0)} ms, ${sample.mountinfo} mounts in its view, ${sample.copied} in the namespace copied`,
          );
        }
        await remove(url, extra);
        await service.stop();
        service = undefined;
      }
    }
  } finally {
    await service?.stop();
    removeHandlers();
    await world.remove();
  }
  const result = Object.fromEntries(
    [...samples].map(([label, s]) => [
      label,
      {
        toPidMs: summarize(s.map((x) => x.toPid)),
        toAppliedMs: summarize(s.map((x) => x.toApplied)),
        mountinfoLines: summarize(s.map((x) => x.mountinfo)),
        copiedLines: summarize(s.map((x) => x.copied)),
      },
    ]),
  );
  report(
    'init-start',
    { tenants: TENANTS, rounds: ROUNDS, extra: EXTRA, load: load(), builds: Object.fromEntries(builds.map((b) => [b.label, b.main])), result },
    [
      ...[...samples].map(([label, s]) => {
        const pid = summarize(s.map((x) => x.toPid));
        const ready = summarize(s.map((x) => x.toApplied));
        return {
          build: label,
          n: s.length,
          'to init pid p50 ms': fixed(pid.p50, 0),
          'mean ms': fixed(pid.mean, 0),
          'min ms': fixed(pid.min, 0),
          'max ms': fixed(pid.max, 0),
          'to applied p50 ms': fixed(ready.p50, 0),
          'view mounts p50': summarize(s.map((x) => x.mountinfo)).p50,
          'copied mounts p50': summarize(s.map((x) => x.copied)).p50,
        };
      }),
    ],
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
