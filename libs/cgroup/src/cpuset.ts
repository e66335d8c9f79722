import type { CpusetQuota } from '../../domain/src/quota.types';
import { parseCpuList } from '../../domain/src/units';
import type { FileTarget } from './target';

/** "0-1,3" in the kernel's normal form; an empty file means "inherit the parent's" and stays empty. */
function normalise(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? '' : parseCpuList(trimmed, 'cpuset', []);
}

function listTarget(file: string, value: string | undefined): FileTarget {
  const wanted = value ?? '';
  return { file, value: wanted === '' ? '\n' : wanted, same: (current) => normalise(current) === wanted };
}

/** cpuset.cpus and cpuset.mems; absent means empty, which the kernel reads as the parent's set. */
export function cpusetTargets(cpuset: CpusetQuota | undefined): FileTarget[] {
  return [listTarget('cpuset.cpus', cpuset?.cpus), listTarget('cpuset.mems', cpuset?.mems)];
}
