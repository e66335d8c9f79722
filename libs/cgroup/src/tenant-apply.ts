import { setTimeout as sleep } from 'node:timers/promises';
import type { FileWrite } from '../../native/src/native.types';
import type { Quota } from '../../domain/src/quota.types';
import type { HostCapabilities } from './capabilities';
import type { CgroupFs } from './cgroup-fs';
import { type Condition, degraded } from './condition';
import { cpuTargets } from './cpu';
import { parseCpuMax } from './stats/cpu-max';
import { cpusetTargets } from './cpuset';
import { ioMaxTargets, ioWeightTarget } from './io';
import { lowers, memoryTargets, pagesDown } from './memory';
import { pidsTargets } from './pids';
import { type ControllerName, type FileTarget, limitText, readLimit } from './target';

export interface ApplyOptions {
  /** lower memory.max even when usage stays above it (the kernel then reclaims, and may OOM-kill) */
  force: boolean;
  /** how long to wait for reclaim under a lowered memory.high before giving up on memory.max (0: look once) */
  reclaimTimeoutMs: number;
  /** how long the caller has waited already, over passes that each looked once; for the condition's message */
  waitedMs?: number;
}

/** The condition of a lowered memory.max that waits for usage to fall under it. */
export const MEMORY_LIMIT_PENDING = 'MemoryLimitPending';

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

/** What one batched read of a cgroup saw: each file's text, undefined for a file that does not exist. */
export type CgroupSnapshot = ReadonlyMap<string, string | undefined>;

/** The files applyQuota compares, for the controllers and features this host has. */
export function quotaFiles(caps: HostCapabilities): string[] {
  const available = new Set(caps.available);
  const files: string[] = [];
  if (available.has('cpu')) files.push('cpu.max', 'cpu.weight', ...(caps.features.cpuBurst ? ['cpu.max.burst'] : []));
  if (available.has('memory')) {
    files.push('memory.max', 'memory.high', 'memory.low', 'memory.min', 'memory.current', ...(caps.features.swap ? ['memory.swap.max'] : []));
  }
  if (available.has('pids')) files.push('pids.max');
  if (available.has('io')) files.push('io.max', 'io.weight');
  if (available.has('cpuset')) files.push('cpuset.cpus', 'cpuset.mems');
  return files;
}

/**
 * Brings one tenant cgroup to its quota. Every file is read in one batch (or taken from `snapshot`, a batch
 * the caller read already), compared by meaning, and only the files that differ are written, as one ordered
 * plan. A tenant in sync costs one native read and no writes. With `dryRun`, nothing is written and the
 * result is the plan.
 */
export async function applyQuota(
  fs: CgroupFs,
  caps: HostCapabilities,
  dir: string,
  quota: Quota,
  options: ApplyOptions,
  dryRun = false,
  snapshot?: CgroupSnapshot,
): Promise<ApplyResult> {
  const changes: FileChange[] = [];
  const conditions: Condition[] = [];
  const available = new Set(caps.available);
  let current: CgroupSnapshot = snapshot ?? (await fs.readMany(dir, quotaFiles(caps))) ?? new Map();

  for (const [section, controller] of Object.entries(SECTION_CONTROLLER)) {
    if (quota[section as keyof Quota] !== undefined && !available.has(controller)) {
      conditions.push(degraded('ControllerUnavailable', `${section} limits not enforced: controller ${controller} unavailable at ${caps.root}`));
    }
  }

  let plan: FileWrite[] = [];
  const hold = (target: FileTarget): void => {
    const text = current.get(target.file);
    if (text !== undefined && target.same(text)) return;
    changes.push({ file: fs.absolute(`${dir}/${target.file}`), from: text?.trim() ?? null, to: target.value.trim() });
    plan.push({ name: target.file, value: target.value });
  };
  const step: ApplyStep = {
    hold,
    current: () => current,
    // Writes what is planned so far (a wait follows that depends on it) and reads the files again.
    flush: async () => {
      if (!dryRun) await fs.writeMany(dir, plan);
      plan = [];
      current = (await fs.readMany(dir, quotaFiles(caps))) ?? new Map();
    },
  };

  if (available.has('cpu')) {
    if (quota.cpu?.burst !== undefined && !caps.features.cpuBurst) {
      conditions.push(degraded('FeatureUnavailable', `cpu.burst not enforced: cpu.max.burst is not available on kernel ${caps.kernel}`));
    }
    for (const target of cpuTargets(quota.cpu, parseCpuMax(current.get('cpu.max') ?? ''), { burst: caps.features.cpuBurst })) hold(target);
  }
  if (available.has('memory')) {
    await applyMemory(fs, caps, dir, quota, options, dryRun, step, conditions);
  }
  if (available.has('pids')) {
    for (const target of pidsTargets(quota.pids)) hold(target);
  }
  if (available.has('io')) {
    if (quota.io?.weight !== undefined && !caps.features.ioWeightEffective) {
      conditions.push(degraded('IoWeightIneffective', 'io.weight is set but has no effect: neither io.cost nor the BFQ scheduler is active on this host'));
    }
    for (const target of ioMaxTargets(quota.io, current.get('io.max') ?? '')) hold(target);
    if (current.get('io.weight') !== undefined) hold(ioWeightTarget(quota.io));
  }
  if (available.has('cpuset')) {
    for (const target of cpusetTargets(quota.cpuset)) hold(target);
  }
  if (!dryRun) await fs.writeMany(dir, plan);
  return { changes, conditions };
}

/** How applyMemory plans against the batch, and writes what is planned before it waits for reclaim. */
interface ApplyStep {
  hold: (target: FileTarget) => void;
  current: () => CgroupSnapshot;
  flush: () => Promise<void>;
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
  step: ApplyStep,
  conditions: Condition[],
): Promise<void> {
  const { hold } = step;
  const targets = memoryTargets(quota.memory, { swap: caps.features.swap, pageSize: caps.pageSize });
  if (quota.memory?.swapMax !== undefined && !caps.features.swap) {
    conditions.push(degraded('FeatureUnavailable', 'memory.swapMax not enforced: swap accounting is off on this host (memory.swap.max is missing)'));
  }
  const nextMax = quota.memory?.max ?? 'max';
  const currentMax = readLimit(step.current().get('memory.max') ?? 'max') ?? 'max';
  if (!lowers(nextMax, currentMax)) {
    hold(targets.max);
    hold(targets.high);
  } else {
    const nextHigh = quota.memory?.high ?? 'max';
    const interimHigh = lowers(nextMax, nextHigh) ? nextMax : nextHigh;
    const current = readLimit(step.current().get('memory.current') ?? '0') ?? 0;
    if (dryRun) {
      hold({ ...targets.high, value: limitText(interimHigh) });
      if (typeof current === 'number' && current > (nextMax as number)) {
        conditions.push(
          degraded(
            'MemoryAboveLimit',
            `memory.max ${nextMax} is below current usage ${current}: memory.high is lowered first and memory.max waits for reclaim unless forced`,
          ),
        );
      }
      hold(targets.max);
    } else {
      hold({
        ...targets.high,
        value: limitText(interimHigh),
        same: (text) => readLimit(text) === (interimHigh === 'max' ? 'max' : pagesDown(interimHigh, caps.pageSize)),
      });
      await step.flush();
      const underLimit = await waitForUsage(fs, dir, nextMax as number, options.reclaimTimeoutMs, step.current().get('memory.current'));
      if (underLimit || options.force) {
        hold(targets.max);
        hold(targets.high);
      } else {
        const usage = readLimit((await fs.read(dir, 'memory.current')) ?? '0');
        conditions.push(
          degraded(
            MEMORY_LIMIT_PENDING,
            `memory.max not lowered to ${nextMax}: usage ${usage} stayed above it for ${options.waitedMs ?? options.reclaimTimeoutMs}ms under memory.high ${limitText(interimHigh)}; PATCH with ?force=true to lower it anyway (the kernel may OOM-kill)`,
          ),
        );
      }
    }
  }
  hold(targets.low);
  hold(targets.min);
  if (targets.swapMax) hold(targets.swapMax);
}

/** Polls memory.current until it is at or under `limit`; the first look uses the batch just read. */
async function waitForUsage(fs: CgroupFs, dir: string, limit: number, timeoutMs: number, first: string | undefined): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let text = first; ; text = await fs.read(dir, 'memory.current')) {
    const usage = readLimit(text ?? '0');
    if (typeof usage !== 'number' || usage <= limit) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}
