import { setTimeout as sleep } from 'node:timers/promises';
import type { Quota } from '../../domain/src/quota.types';
import type { HostCapabilities } from './capabilities';
import type { CgroupFs } from './cgroup-fs';
import { type Condition, degraded } from './condition';
import { cpuTargets } from './cpu';
import { parseCpuMax } from './stats/cpu-max';
import { cpusetTargets } from './cpuset';
import { ioMaxTargets, ioWeightTarget } from './io';
import { lowers, memoryTargets, PAGE_SIZE } from './memory';
import { pidsTargets } from './pids';
import { type ControllerName, type FileTarget, limitText, readLimit } from './target';

export interface ApplyOptions {
  /** lower memory.max even when usage stays above it (the kernel then reclaims, and may OOM-kill) */
  force: boolean;
  /** how long to wait for reclaim under a lowered memory.high before giving up on memory.max */
  reclaimTimeoutMs: number;
}

export interface FileChange {
  file: string;
  from: string | null;
  to: string;
}

export interface ApplyResult {
  changes: FileChange[];
  conditions: Condition[];
}

/** Which controller each quota section needs, to tell what a missing controller leaves unenforced. */
const SECTION_CONTROLLER: Record<string, ControllerName> = { cpu: 'cpu', memory: 'memory', pids: 'pids', io: 'io', cpuset: 'cpuset' };

/**
 * Brings one tenant cgroup to its quota. Each file is read first and written only when its meaning
 * differs, so a tenant in sync costs reads and no writes. With `dryRun`, nothing is written and the
 * result is the plan.
 */
export async function applyQuota(fs: CgroupFs, caps: HostCapabilities, dir: string, quota: Quota, options: ApplyOptions, dryRun = false): Promise<ApplyResult> {
  const changes: FileChange[] = [];
  const conditions: Condition[] = [];
  const available = new Set(caps.available);

  for (const [section, controller] of Object.entries(SECTION_CONTROLLER)) {
    if (quota[section as keyof Quota] !== undefined && !available.has(controller)) {
      conditions.push(degraded('ControllerUnavailable', `${section} limits not enforced: controller ${controller} unavailable at ${caps.root}`));
    }
  }

  const hold = async (target: FileTarget): Promise<void> => {
    const current = await fs.read(dir, target.file);
    if (current !== undefined && target.same(current)) return;
    changes.push({ file: fs.absolute(`${dir}/${target.file}`), from: current?.trim() ?? null, to: target.value.trim() });
    if (!dryRun) await fs.write(dir, target.file, target.value);
  };

  if (available.has('cpu')) {
    if (quota.cpu?.burst !== undefined && !caps.features.cpuBurst) {
      conditions.push(degraded('FeatureUnavailable', `cpu.burst not enforced: cpu.max.burst is not available on kernel ${caps.kernel}`));
    }
    const current = parseCpuMax((await fs.read(dir, 'cpu.max')) ?? '');
    for (const target of cpuTargets(quota.cpu, current, { burst: caps.features.cpuBurst })) await hold(target);
  }
  if (available.has('memory')) {
    await applyMemory(fs, caps, dir, quota, options, dryRun, hold, conditions);
  }
  if (available.has('pids')) {
    for (const target of pidsTargets(quota.pids)) await hold(target);
  }
  if (available.has('io')) {
    if (quota.io?.weight !== undefined && !caps.features.ioWeightEffective) {
      conditions.push(degraded('IoWeightIneffective', 'io.weight is set but has no effect: neither io.cost nor the BFQ scheduler is active on this host'));
    }
    for (const target of ioMaxTargets(quota.io, (await fs.read(dir, 'io.max')) ?? '')) await hold(target);
    if ((await fs.read(dir, 'io.weight')) !== undefined) await hold(ioWeightTarget(quota.io));
  }
  if (available.has('cpuset')) {
    for (const target of cpusetTargets(quota.cpuset)) await hold(target);
  }
  return { changes, conditions };
}

/**
 * Memory limits in the safe order. Raising: memory.max, then memory.high. Lowering: memory.high first
 * (the kernel throttles and reclaims), wait for usage to fall under the new max, and only then write
 * memory.max — cgroup v2 never refuses a memory.max below usage, it reclaims and then OOM-kills. When
 * usage stays above, memory.max is left alone and a condition says so, unless the change was forced.
 */
async function applyMemory(
  fs: CgroupFs,
  caps: HostCapabilities,
  dir: string,
  quota: Quota,
  options: ApplyOptions,
  dryRun: boolean,
  hold: (target: FileTarget) => Promise<void>,
  conditions: Condition[],
): Promise<void> {
  const targets = memoryTargets(quota.memory, { swap: caps.features.swap });
  if (quota.memory?.swapMax !== undefined && !caps.features.swap) {
    conditions.push(degraded('FeatureUnavailable', 'memory.swapMax not enforced: swap accounting is off on this host (memory.swap.max is missing)'));
  }
  const nextMax = quota.memory?.max ?? 'max';
  const currentMax = readLimit((await fs.read(dir, 'memory.max')) ?? 'max') ?? 'max';
  if (!lowers(nextMax, currentMax)) {
    await hold(targets.max);
    await hold(targets.high);
  } else {
    const nextHigh = quota.memory?.high ?? 'max';
    const interimHigh = lowers(nextMax, nextHigh) ? nextMax : nextHigh;
    const current = readLimit((await fs.read(dir, 'memory.current')) ?? '0') ?? 0;
    if (dryRun) {
      await hold({ ...targets.high, value: limitText(interimHigh) });
      if (typeof current === 'number' && current > (nextMax as number)) {
        conditions.push(
          degraded(
            'MemoryAboveLimit',
            `memory.max ${nextMax} is below current usage ${current}: memory.high is lowered first and memory.max waits for reclaim unless forced`,
          ),
        );
      }
      await hold(targets.max);
    } else {
      await hold({
        ...targets.high,
        value: limitText(interimHigh),
        same: (text) => readLimit(text) === (interimHigh === 'max' ? 'max' : Math.floor(interimHigh / PAGE_SIZE) * PAGE_SIZE),
      });
      const underLimit = await waitForUsage(fs, dir, nextMax as number, options.reclaimTimeoutMs);
      if (underLimit || options.force) {
        await hold(targets.max);
        await hold(targets.high);
      } else {
        const usage = readLimit((await fs.read(dir, 'memory.current')) ?? '0');
        conditions.push(
          degraded(
            'MemoryLimitPending',
            `memory.max not lowered to ${nextMax}: usage ${usage} stayed above it for ${options.reclaimTimeoutMs}ms under memory.high ${limitText(interimHigh)}; PATCH with ?force=true to lower it anyway (the kernel may OOM-kill)`,
          ),
        );
      }
    }
  }
  await hold(targets.low);
  await hold(targets.min);
  if (targets.swapMax) await hold(targets.swapMax);
}

async function waitForUsage(fs: CgroupFs, dir: string, limit: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const usage = readLimit((await fs.read(dir, 'memory.current')) ?? '0');
    if (typeof usage !== 'number' || usage <= limit) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}
