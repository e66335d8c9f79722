import type { Command } from 'commander';
import { UsageError } from './cli.errors';

/** One flag per quota field, in the units the API takes; `none` removes a field (a merge patch null). */
const QUOTA_FLAGS = [
  { flag: '--cpu <cores>', key: 'cpu', path: ['cpu', 'max'], help: 'CPU cap in cores, e.g. 1.5, or max' },
  { flag: '--cpu-period <duration>', key: 'cpuPeriod', path: ['cpu', 'period'], help: 'cpu.max period, e.g. 100ms' },
  { flag: '--cpu-weight <n>', key: 'cpuWeight', path: ['cpu', 'weight'], help: 'cpu.weight, 1 to 10000', integer: true },
  { flag: '--cpu-burst <duration>', key: 'cpuBurst', path: ['cpu', 'burst'], help: 'cpu.max.burst, e.g. 20ms' },
  { flag: '--memory <size>', key: 'memory', path: ['memory', 'max'], help: 'memory.max, e.g. 512Mi, 1Gi, or max' },
  { flag: '--memory-high <size>', key: 'memoryHigh', path: ['memory', 'high'], help: 'memory.high (throttle point)' },
  { flag: '--memory-low <size>', key: 'memoryLow', path: ['memory', 'low'], help: 'memory.low (best-effort protection)' },
  { flag: '--memory-min <size>', key: 'memoryMin', path: ['memory', 'min'], help: 'memory.min (hard protection)' },
  { flag: '--swap <size>', key: 'swap', path: ['memory', 'swapMax'], help: 'memory.swap.max, e.g. 0' },
  { flag: '--pids <n>', key: 'pids', path: ['pids', 'max'], help: 'pids.max, e.g. 256, or max', integer: true },
  { flag: '--io-weight <n>', key: 'ioWeight', path: ['io', 'weight'], help: 'io.weight, 1 to 10000', integer: true },
  { flag: '--cpuset-cpus <list>', key: 'cpusetCpus', path: ['cpuset', 'cpus'], help: 'CPUs, e.g. 0-1' },
  { flag: '--cpuset-mems <list>', key: 'cpusetMems', path: ['cpuset', 'mems'], help: 'memory nodes, e.g. 0' },
  { flag: '--ingress <rate>', key: 'ingress', path: ['network', 'ingress'], help: 'bandwidth into the tenant, e.g. 100Mbit' },
  { flag: '--egress <rate>', key: 'egress', path: ['network', 'egress'], help: 'bandwidth out of the tenant, e.g. 50Mbit' },
] as const;

export const QUOTA_FLAGS_HELP = 'Quota flags take the API units (512Mi, 1.5, 100Mbit); "max" is unlimited and "none" removes the field.';

export function addQuotaOptions(command: Command): Command {
  for (const option of QUOTA_FLAGS) command.option(option.flag, option.help);
  return command;
}

/**
 * The quota merge patch the flags ask for: {memory: {max: "512Mi"}, pids: {max: 256}}. Integers go as
 * numbers, "none" as null (remove); the API checks every value and names a bad one.
 */
export function quotaPatchFrom(options: Record<string, unknown>, allowNone = true): Record<string, Record<string, unknown>> {
  const patch: Record<string, Record<string, unknown>> = {};
  for (const option of QUOTA_FLAGS) {
    const text = options[option.key];
    // Every quota flag takes a value, so commander gives a string or nothing.
    if (typeof text !== 'string') continue;
    let value: unknown = text;
    if (text === 'none') {
      if (!allowNone) throw new UsageError(`${option.flag.split(' ')[0]} none: there is nothing to remove from a new tenant`);
      value = null;
    } else if ('integer' in option && /^[0-9]+$/.test(text)) {
      value = Number(text);
    }
    const [section, field] = option.path;
    patch[section] = { ...patch[section], [field]: value };
  }
  return patch;
}
