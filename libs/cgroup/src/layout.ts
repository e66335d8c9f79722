import { TENANT_NAME_PATTERN } from '../../domain/src/tenant-name';

/**
 * The shape of Governor's subtree, as paths relative to ROOT. Every path is built here from validated
 * names only, so that no caller can produce "..", "/" or a NUL in a path; the native layer then resolves
 * each one beneath ROOT's directory fd (openat2 RESOLVE_BENEATH) as a second fence.
 *
 *   ROOT/supervisor/                       the governor itself, when it runs inside ROOT
 *   ROOT/tenants/<name>/                   the tenant cap
 *   ROOT/tenants/<name>/attached/          processes attached by pid (made at the first attach)
 *   ROOT/tenants/<name>/init/              the tenant's init (PID 1 of its namespaces)
 *   ROOT/tenants/<name>/workloads/<id>/    one leaf per workload (workloads/ made at the first start)
 *   ROOT/tenants/<name>/monitors/<id>/     its monitor, next to it: counted in the tenant's pids and memory
 *   ROOT/monitors/<id>/                    monitors started before they moved into their tenant (swept)
 *
 * attached/ and workloads/ wait for their first use: every memory cgroup costs the kernel work that grows with
 * the memory cgroups already on the host (on Linux 6.1, a map per memory cgroup of every memory-aware
 * shrinker), so a tenant that never attaches a process or starts a workload has two, its own and its init's.
 */
export const TENANTS = 'tenants';
export const SUPERVISOR = 'supervisor';
export const MONITORS = 'monitors';

const WORKLOAD_ID = /^[a-z0-9]{1,32}$/;

export class CgroupPathError extends Error {
  constructor(what: string, value: string) {
    super(`refusing to build a cgroup path from ${what} ${JSON.stringify(value)}`);
    this.name = 'CgroupPathError';
  }
}

export function tenantDir(name: string): string {
  if (!TENANT_NAME_PATTERN.test(name)) throw new CgroupPathError('the tenant name', name);
  return `${TENANTS}/${name}`;
}

export function attachedDir(name: string): string {
  return `${tenantDir(name)}/attached`;
}

export function initDir(name: string): string {
  return `${tenantDir(name)}/init`;
}

export function workloadsDir(name: string): string {
  return `${tenantDir(name)}/workloads`;
}

export function workloadDir(name: string, workloadId: string): string {
  if (!WORKLOAD_ID.test(workloadId)) throw new CgroupPathError('the workload id', workloadId);
  return `${workloadsDir(name)}/${workloadId}`;
}

export function isWorkloadId(id: string): boolean {
  return WORKLOAD_ID.test(id);
}

export function monitorsDir(name: string): string {
  return `${tenantDir(name)}/monitors`;
}

/** The leaf of a workload's monitor, inside its tenant, so that the tenant's quota counts it. */
export function monitorDir(name: string, workloadId: string): string {
  if (!WORKLOAD_ID.test(workloadId)) throw new CgroupPathError('the workload id', workloadId);
  return `${monitorsDir(name)}/${workloadId}`;
}

/** Where a monitor lived before monitors moved into their tenant: outside every tenant. */
export function legacyMonitorDir(workloadId: string): string {
  if (!WORKLOAD_ID.test(workloadId)) throw new CgroupPathError('the workload id', workloadId);
  return `${MONITORS}/${workloadId}`;
}

/** A controller file of a cgroup directory; file names are fixed strings in this library, never input. */
export function fileIn(dir: string, file: string): string {
  if (!/^[a-z][a-z0-9_.]{0,31}$/.test(file)) throw new CgroupPathError('the file name', file);
  return dir === '' ? file : `${dir}/${file}`;
}
