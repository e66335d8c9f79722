import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupFs } from './cgroup-fs';
import { type CgroupEvents, parseCgroupEvents } from './stats/cgroup-events';

const readEvents = (text: string | undefined): CgroupEvents | undefined => (text === undefined ? undefined : parseCgroupEvents(text));

/**
 * Waits until cgroup.events says what `done` wants, polling with a growing interval. Frozen can take a
 * while (tasks in D state); populated 0 follows the last exit.
 */
export async function waitForEvents(fs: CgroupFs, dir: string, done: (events: CgroupEvents) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    const events = readEvents(await fs.read(dir, 'cgroup.events'));
    if (events === undefined || done(events)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
  }
}

/**
 * Freezes (or thaws) a cgroup and waits for the kernel to say so. `written` tells whether cgroup.freeze
 * had to change; `settled` is false when cgroup.events did not confirm within the timeout.
 */
export async function setFrozen(
  fs: CgroupFs,
  dir: string,
  frozen: boolean,
  timeoutMs: number,
  known?: { freeze: string | undefined; events: string | undefined },
): Promise<{ written: boolean; settled: boolean }> {
  const wanted = frozen ? '1' : '0';
  const written = (known === undefined ? await fs.read(dir, 'cgroup.freeze') : known.freeze)?.trim() !== wanted;
  if (written) await fs.write(dir, 'cgroup.freeze', wanted);
  const done = (events: CgroupEvents) => (events.frozen ?? false) === frozen;
  // A batch read before any write already tells a tenant that is where it should be: no poll at all.
  const seen = written || known === undefined ? undefined : readEvents(known.events);
  const settled = (seen !== undefined && done(seen)) || (await waitForEvents(fs, dir, done, timeoutMs));
  return { written, settled };
}

/**
 * Kills every process in a cgroup subtree and waits for it to empty. cgroup.kill (5.14+) does it in one
 * write and cannot race with forks; older kernels get freeze, SIGKILL each pid, thaw.
 */
export async function killAll(fs: CgroupFs, dir: string, timeoutMs: number, hasKillFile: boolean): Promise<boolean> {
  const events = readEvents(await fs.read(dir, 'cgroup.events'));
  if (events === undefined || !events.populated) return true;
  if (hasKillFile) {
    await fs.write(dir, 'cgroup.kill', '1');
  } else {
    await setFrozen(fs, dir, true, timeoutMs);
    for (const pid of await pidsBelow(fs, dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await fs.write(dir, 'cgroup.freeze', '0');
  }
  return waitForEvents(fs, dir, (e) => !e.populated, timeoutMs);
}

export async function pidsBelow(fs: CgroupFs, dir: string): Promise<number[]> {
  const own = ((await fs.read(dir, 'cgroup.procs')) ?? '')
    .split('\n')
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
  const nested = await Promise.all(fs.children(dir).map((child) => pidsBelow(fs, `${dir}/${child}`)));
  return [...own, ...nested.flat()];
}
