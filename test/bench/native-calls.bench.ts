// What one async native call costs the event loop, by how many are in flight at once: Governor's way (every call
// through the koffi gate, 32 resident call pools; libs/native/src/koffi-runtime.ts) against plain koffi with its
// defaults (8 resident pools, no gate), which allocates and frees call memory for every call beyond the eighth.
// The call itself is gv_page_size (sysconf): next to nothing, so what is measured is the dispatch.
//
//   node dist/test/bench/native-calls.bench.js      (GOVERNOR_BENCH_CALLS: calls per case, 40,000 by default)
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import koffi, { type KoffiFunc } from 'koffi';
import { ASYNC_POOLS, koffiAsync, loadLibrary } from '../../libs/native/src/koffi-runtime';
import { findLibrary } from '../../libs/native/src/native';
import { fixed, report, times } from './stats';

const CALLS = Number(process.env.GOVERNOR_BENCH_CALLS ?? 40_000);
const IN_FLIGHT = [4, 8, 16, 32, 64];

interface Case {
  way: 'gate' | 'plain';
  inFlight: number;
  /** wall time per call, µs */
  wallUs: number;
  /** this process's CPU per call (user + system, every thread), µs */
  cpuUs: number;
  systemUs: number;
}

type PageSize = KoffiFunc<() => number>;

async function measure(way: Case['way'], inFlight: number, call: () => Promise<number>): Promise<Case> {
  let started = 0;
  const worker = async () => {
    while (started < CALLS) {
      started += 1;
      if ((await call()) <= 0) throw new Error('gv_page_size failed');
    }
  };
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / CALLS;
  const cpu = process.cpuUsage(cpu0);
  return { way, inFlight, wallUs, cpuUs: (cpu.user + cpu.system) / CALLS, systemUs: cpu.system / CALLS };
}

/** One way's cases in this process: koffi's settings are fixed once a library is loaded, so each way has its own. */
async function child(way: Case['way']): Promise<void> {
  const lib = way === 'gate' ? loadLibrary(findLibrary()) : koffi.load(findLibrary());
  const pageSize = lib.func('long gv_page_size(void)') as PageSize;
  const call =
    way === 'gate'
      ? () => koffiAsync<number>((done) => pageSize.async(done))
      : () =>
          new Promise<number>((resolve, reject) =>
            pageSize.async((err: unknown, value: number) => (err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(value))),
          );
  await measure(way, 8, call); // warm-up
  const cases: Case[] = [];
  for (const inFlight of IN_FLIGHT) cases.push(await measure(way, inFlight, call));
  process.stdout.write(JSON.stringify(cases));
}

function runChild(way: Case['way']): Case[] {
  const out = spawnSync(process.execPath, [__filename, way], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (out.status !== 0) throw new Error(`the ${way} case exited with ${out.status ?? out.signal}`);
  return JSON.parse(out.stdout) as Case[];
}

function main(): void {
  const gate = runChild('gate');
  const plain = runChild('plain');
  const plainOf = (c: Case) => plain.find((p) => p.inFlight === c.inFlight);
  report(
    'native-calls',
    { calls: CALLS, cpus: cpus().length, residentPools: { gate: ASYNC_POOLS, plain: 8 }, gate, plain },
    gate.map((g) => {
      const p = plainOf(g);
      return {
        'in flight': g.inFlight,
        'gate µs/call': fixed(g.wallUs, 1),
        'gate CPU µs': fixed(g.cpuUs, 1),
        'plain µs/call': p ? fixed(p.wallUs, 1) : '',
        'plain CPU µs': p ? fixed(p.cpuUs, 1) : '',
        'plain ÷ gate CPU': p ? times(p.cpuUs, g.cpuUs) : '',
      };
    }),
  );
}

const way = process.argv[2];
if (way === 'gate' || way === 'plain')
  child(way).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
else main();
