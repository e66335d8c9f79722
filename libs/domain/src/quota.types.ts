/**
 * The canonical quota: the one form the API returns and the database stores. Every field is optional;
 * an absent field is "not set" (the kernel default), while the string "max" is an explicit unlimited.
 *
 * - sizes and byte rates are integers in bytes (at most Number.MAX_SAFE_INTEGER, 8 PiB);
 * - cores are a decimal string ("1.5");
 * - durations are strings in the largest whole unit ("100ms", "1s", "250us");
 * - network rates are integers in bits per second.
 */
export type Unlimited = 'max';
export type Limit = number | Unlimited;

export interface CpuQuota {
  /** cores, e.g. "1.5", or "max" */
  max?: string;
  /** e.g. "100ms"; 1ms..1s */
  period?: string;
  /** 1..10000 */
  weight?: number;
  /** e.g. "20ms" */
  burst?: string;
}

export interface MemoryQuota {
  max?: Limit;
  high?: Limit;
  low?: Limit;
  min?: Limit;
  swapMax?: Limit;
}

export interface PidsQuota {
  max?: Limit;
  /**
   * What Governor does when a workload's forks are refused at pids.max (pids.events max grows): "none" (the
   * default) records a tenant event; "kill" also evicts that workload with cgroup.kill on its leaf.
   */
  onLimit?: 'none' | 'kill';
}

export interface IoDeviceLimit {
  /** "major:minor", e.g. "8:0" */
  device: string;
  rbps?: Limit;
  wbps?: Limit;
  riops?: Limit;
  wiops?: Limit;
}

export interface IoQuota {
  /** 1..10000 */
  weight?: number;
  limits?: IoDeviceLimit[];
}

export interface CpusetQuota {
  /** canonical list, e.g. "0-3,6" */
  cpus?: string;
  mems?: string;
}

export interface NetworkQuota {
  /** bits per second into the tenant */
  ingress?: Limit;
  /** bits per second out of the tenant */
  egress?: Limit;
  /**
   * Whether the tenant may reach the world beyond this host (forwarding with masquerade). Off unless
   * true: by default a tenant reaches only its gateway's ICMP echo.
   */
  outside?: boolean;
}

/** Sizes of what a tenant may write: its tmpfs (charged to its memory cgroup) and its persistent home. */
export interface FilesystemQuota {
  /** bytes of the one tmpfs behind /tmp, /var/tmp, /dev/shm and /run; default 64 MiB */
  tmpSize?: number;
  /** bytes of the home image mounted at /home/tenant; default 256 MiB; it grows, never shrinks */
  homeSize?: number;
}

export interface WorkloadsQuota {
  /** concurrent workloads (starting or running) of the tenant on a node; default 64 */
  max?: number;
}

export interface Quota {
  cpu?: CpuQuota;
  memory?: MemoryQuota;
  pids?: PidsQuota;
  io?: IoQuota;
  cpuset?: CpusetQuota;
  network?: NetworkQuota;
  filesystem?: FilesystemQuota;
  workloads?: WorkloadsQuota;
}
