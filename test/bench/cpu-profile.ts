// Where a governor's JavaScript thread spent its time, from the .cpuprofile files node's --cpu-prof wrote
// (whole-reconcile.bench.ts with GOVERNOR_BENCH_PROFILE_DIR): self time by function, and for the top functions
// the callers they were reached from.
//
//   node dist/test/bench/cpu-profile.js DIR_OR_FILE... [--top N]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const frameName = (frame: CallFrame): string =>
  `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${frame.url === '' ? '' : `${basename(frame.url)}:${frame.lineNumber + 1}`}`.trim();

function files(paths: readonly string[]): string[] {
  return paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((name) => name.endsWith('.cpuprofile'))
          .map((name) => join(path, name))
      : [path],
  );
}

function summarize(path: string, top: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;

  const byName = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const name = frameName(node.callFrame);
    byName.set(name, (byName.get(name) ?? 0) + us);
    // The nearest caller that is JavaScript of this project (not node's internals).
    let up = parent.get(id);
    while (up !== undefined && !/\/(apps|libs)\//.test(byId.get(up)?.callFrame.url ?? '')) up = parent.get(up);
    const caller = up === undefined ? '(none)' : frameName(byId.get(up)?.callFrame ?? node.callFrame);
    const mine = callers.get(name) ?? new Map<string, number>();
    mine.set(caller, (mine.get(caller) ?? 0) + us);
    callers.set(name, mine);
  }
  const seconds = (us: number) => (us / 1e6).toFixed(1);
  const share = (us: number) => `${((100 * us) / totalUs).toFixed(1)}%`;
  process.stdout.write(`${path}: ${seconds(totalUs)} s profiled\n`);
  const ranked = [...byName].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.table(
    ranked.map(([name, us]) => {
      const [caller, callerUs] = [...(callers.get(name) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
      return { function: name.slice(0, 70), 'self s': seconds(us), share: share(us), 'mostly from': `${caller.slice(0, 60)} (${seconds(callerUs)} s)` };
    }),
  );
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
if (args.length === 0) {
  process.stderr.write('usage: node dist/test/bench/cpu-profile.js DIR_OR_FILE... [--top N]\n');
  process.exitCode = 2;
} else for (const path of files(args)) summarize(path, top);
