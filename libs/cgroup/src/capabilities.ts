import { readFileSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import type { CgroupFs } from './cgroup-fs';
import { CONTROLLERS, type ControllerName } from './target';

export interface HostFeatures {
  /** cgroup.kill (5.14) */
  kill: boolean;
  /** cpu.max.burst (5.14) */
  cpuBurst: boolean;
  /** memory.peak (5.19) */
  memoryPeak: boolean;
  /** memory.swap.max: swap accounting on */
  swap: boolean;
  /** cpu.stat.local (6.6) */
  cpuStatLocal: boolean;
  /** pids.events.local (6.11), when pids.events became hierarchical; before, a refused fork counts only in the forking task's cgroup */
  pidsEventsLocal: boolean;
  /** *.pressure files (PSI enabled) */
  pressure: boolean;
  /** io.weight does something only with io.cost or BFQ */
  ioWeightEffective: boolean;
}

export interface HostCapabilities {
  kernel: string;
  /** unified: only cgroup v2; hybrid: v1 controllers plus a v2 tree */
  mode: 'unified' | 'hybrid';
  mount: string;
  root: string;
  available: ControllerName[];
  missing: ControllerName[];
  features: HostFeatures;
  /** sysconf(_SC_PAGESIZE): the unit in which memory limits read back */
  pageSize: number;
}

/**
 * Reads what this host can enforce, from the files that exist rather than from the kernel version: a
 * distribution kernel can backport a feature or configure one out.
 */
export async function detectCapabilities(fs: CgroupFs, mount: string, probeDir: string, pageSize: number): Promise<HostCapabilities> {
  const offered = ((await fs.read('', 'cgroup.controllers')) ?? '').trim().split(/\s+/);
  const available = CONTROLLERS.filter((c) => offered.includes(c));
  const has = (file: string) => fs.hasFile(probeDir, file);
  return {
    kernel: release(),
    mode: mount === '/sys/fs/cgroup' ? 'unified' : 'hybrid',
    mount,
    root: fs.root,
    available,
    pageSize,
    missing: CONTROLLERS.filter((c) => !available.includes(c)),
    features: {
      kill: has('cgroup.kill'),
      cpuBurst: has('cpu.max.burst'),
      memoryPeak: has('memory.peak'),
      swap: has('memory.swap.max'),
      cpuStatLocal: has('cpu.stat.local'),
      pidsEventsLocal: has('pids.events.local'),
      pressure: has('cpu.pressure'),
      ioWeightEffective: ioWeightEffective(mount),
    },
  };
}

/** io.cost enabled on any device at the hierarchy's root, or BFQ as the scheduler of any disk. */
function ioWeightEffective(mount: string): boolean {
  try {
    if (/enable=1/.test(readFileSync(`${mount}/io.cost.qos`, 'utf8'))) return true;
  } catch {
    // no io.cost on this kernel
  }
  try {
    return readdirSync('/sys/block').some((disk) => {
      try {
        return readFileSync(`/sys/block/${disk}/queue/scheduler`, 'utf8').includes('[bfq]');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
