import type { CgroupFs } from './cgroup-fs';
import { parseCgroupEvents } from './stats/cgroup-events';
import { parseCpuStat } from './stats/cpu-stat';
import { parseIoStat, type IoStatEntry } from './stats/io-stat';
import { type MemoryEvents, parseMemoryEvents, parseMemoryStat, parseSwapEvents, type SwapEvents } from './stats/memory';
import { parseLimitValue, parsePidsEvents, type PidsEvents } from './stats/pids';
import { type Pressure, parsePressure } from './stats/pressure';

const seconds = (usec: number | undefined) => (usec === undefined ? undefined : usec / 1e6);

export interface TenantUsage {
  cpu: {
    usageSeconds?: number;
    userSeconds?: number;
    systemSeconds?: number;
    periods?: number;
    throttledPeriods?: number;
    throttledSeconds?: number;
    burstSeconds?: number;
  };
  memory: { currentBytes?: number; peakBytes?: number; workingSetBytes?: number; swapBytes?: number; events?: MemoryEvents; swapEvents?: SwapEvents };
  pids: { current?: number; events?: PidsEvents };
  io: IoStatEntry[];
  pressure: { cpu?: Pressure; memory?: Pressure; io?: Pressure };
  frozen: boolean;
  populated: boolean;
}

/**
 * Live usage of one cgroup, read from its files now. A file that does not exist (a controller this
 * host lacks, a feature of a newer kernel) leaves its fields out rather than failing the whole read.
 */
export async function readUsage(fs: CgroupFs, dir: string): Promise<TenantUsage> {
  const read = (file: string) => fs.read(dir, file);
  const [cpuStat, current, peak, memStat, events, swap, swapEvents, pidsCurrent, pidsEvents, ioStat, cpuP, memP, ioP, cgEvents] = await Promise.all(
    [
      'cpu.stat',
      'memory.current',
      'memory.peak',
      'memory.stat',
      'memory.events',
      'memory.swap.current',
      'memory.swap.events',
      'pids.current',
      'pids.events',
      'io.stat',
      'cpu.pressure',
      'memory.pressure',
      'io.pressure',
      'cgroup.events',
    ].map(read),
  );
  const cpu = cpuStat === undefined ? undefined : parseCpuStat(cpuStat);
  const currentBytes = number(current);
  const inactiveFile = memStat === undefined ? undefined : parseMemoryStat(memStat).inactiveFile;
  const state = cgEvents === undefined ? undefined : parseCgroupEvents(cgEvents);
  return {
    cpu: {
      usageSeconds: seconds(cpu?.usageUsec),
      userSeconds: seconds(cpu?.userUsec),
      systemSeconds: seconds(cpu?.systemUsec),
      periods: cpu?.nrPeriods,
      throttledPeriods: cpu?.nrThrottled,
      throttledSeconds: seconds(cpu?.throttledUsec),
      burstSeconds: seconds(cpu?.burstUsec),
    },
    memory: {
      currentBytes,
      peakBytes: number(peak),
      // cAdvisor's working set: what the tenant could not give back without paging out.
      workingSetBytes: currentBytes === undefined || inactiveFile === undefined ? undefined : Math.max(0, currentBytes - inactiveFile),
      swapBytes: number(swap),
      events: events === undefined ? undefined : parseMemoryEvents(events),
      swapEvents: swapEvents === undefined ? undefined : parseSwapEvents(swapEvents),
    },
    pids: { current: number(pidsCurrent), events: pidsEvents === undefined ? undefined : parsePidsEvents(pidsEvents) },
    io: ioStat === undefined ? [] : parseIoStat(ioStat),
    pressure: { cpu: pressure(cpuP), memory: pressure(memP), io: pressure(ioP) },
    frozen: state?.frozen ?? false,
    populated: state?.populated ?? false,
  };
}

function number(text: string | undefined): number | undefined {
  const value = text === undefined ? undefined : parseLimitValue(text);
  return typeof value === 'number' ? value : undefined;
}

function pressure(text: string | undefined): Pressure | undefined {
  return text === undefined ? undefined : parsePressure(text);
}
