import { join } from 'node:path';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { HostChanges, HostWatch } from '../../../../libs/native/src/host-watch';
import type { StoredAllocation } from '../../../../libs/persistence/src/allocation';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { type Clock, systemClock } from './reconcile-queue';

/** The clock of the full-check deadlines, and the jitter that spreads them (0 to 1): the system's unless given. */
export const QUIET_CLOCK = Symbol('QUIET_CLOCK');
export const QUIET_JITTER = Symbol('QUIET_JITTER');

/** What a full check watched from its start: the events of these keys after it say the tenant was touched. */
export interface QuietCheck {
  /** the drain this check started after: an event drained later may have come after the check read */
  seq: number;
  /** the inotify watch of the tenant's cgroup directory, made before the check read it */
  wd: number | undefined;
  /** the init whose exit is watched, when it was watched before the check read */
  pid: number | undefined;
}

/** What a full check found of the tenant's link, for the events that name it. */
export interface QuietLink {
  /** the host end's ifindex */
  hostIndex: number;
  /** the id the host's namespace gives the tenant's network namespace */
  nsid: number;
}

interface QuietRecord {
  seq: number;
  desired: string;
  dueAt: number;
  wd: number;
  pid: number;
  link: QuietLink;
}

/** The watch as QuietTenants uses it (HostWatch; a typed double in unit specs). */
export type QuietWatch = Pick<HostWatch, 'watchDir' | 'watchPid' | 'drain' | 'mountsUnder'>;
export interface QuietHost {
  hostWatch(): QuietWatch | undefined;
}

/**
 * What the desired state of a tenant is, for a resync to tell that it did not change since a full check: its id,
 * its generation (bumped by every change to what is enforced), the forced generation and its allocation.
 */
export function desiredOf(tenant: TenantEntity, allocation: StoredAllocation | undefined): string {
  const a = allocation;
  return `${tenant.id} ${tenant.generation} ${tenant.forceGeneration ?? ''} ${a === undefined ? '' : `${a.uidRange.start} ${a.hostAddress} ${a.tenantAddress} ${a.prefix} ${a.releasedAt === null ? '' : 'released'}`}`;
}

/**
 * Which tenants a resync may skip: those a full check found in sync, with nothing changed, and that nothing has
 * touched since. The kernel says what was touched (HostWatch): a write to the tenant's cgroup directory (a hand
 * edit of a limit, a child made or removed, the directory removed), a change of its host end's link, addresses,
 * qdiscs or filters, anything in its network namespace (links, addresses, routes, qdiscs, netconf), its
 * namespace and home mounts, the exit of its init; and any lost event touches every tenant. The desired state
 * must be the one the check applied, and each tenant is still checked in full at least every
 * GOVERNOR_FULL_CHECK_INTERVAL (with a quarter of jitter, so that the full checks spread out).
 *
 * Ordering: events are numbered by the drain that read them (refresh, at each resync's start). A check started
 * after drain n saw everything that happened before drain n; an event read by a later drain may have come after
 * the check read, so it makes the tenant not quiet. The watches are made before the check reads.
 */
@Injectable()
export class QuietTenants {
  private readonly logger = new Logger('reconciler');
  private seq = 0;
  private overflowSeq = 0;
  private readonly records = new Map<string, QuietRecord>();
  private readonly dirSeq = new Map<number, number>();
  private readonly linkSeq = new Map<number, number>();
  private readonly nsidSeq = new Map<number, number>();
  private readonly pidSeq = new Map<number, number>();
  /** tenants whose namespace or home mounts changed */
  private readonly mountSeq = new Map<string, number>();
  /** the mounts of each tenant under the run directory, as the last look at the table found them */
  private mounts: Map<string, string> | undefined;
  private readonly watchedPids = new Set<number>();
  /** the checks under way, by the drain each started after: what they may yet record must not be pruned */
  private readonly checking = new Map<string, number>();

  constructor(
    @Inject(HostAccess) private readonly host: QuietHost,
    @Inject(GOVERNOR_CONFIG) private readonly config: Pick<GovernorConfig, 'fullCheckIntervalMs' | 'runDir'>,
    @Optional() @Inject(QUIET_CLOCK) private readonly clock: Pick<Clock, 'now'> = systemClock,
    @Optional() @Inject(QUIET_JITTER) private readonly jitter: () => number = Math.random,
  ) {}

  private get enabled(): boolean {
    return this.config.fullCheckIntervalMs > 0 && this.host.hostWatch() !== undefined;
  }

  /** At a resync's start, before any tenant is skipped: takes in what the kernel said since the last one. */
  refresh(): void {
    const watch = this.host.hostWatch();
    if (!this.enabled || watch === undefined) return;
    const changes: HostChanges = watch.drain();
    this.seq += 1;
    const seq = this.seq;
    if (changes.overflow) this.overflowSeq = seq;
    for (const wd of changes.dirs) this.dirSeq.set(wd, seq);
    for (const index of changes.links) this.linkSeq.set(index, seq);
    for (const nsid of changes.nsids) this.nsidSeq.set(nsid, seq);
    for (const pid of changes.pids) {
      this.pidSeq.set(pid, seq);
      this.watchedPids.delete(pid);
    }
    if (changes.mounts || this.mounts === undefined) this.lookAtMounts(watch, seq);
    this.prune();
  }

  /** Whether the resync may skip this tenant (`desired`: desiredOf its record). */
  quiet(name: string, desired: string): boolean {
    const record = this.records.get(name);
    if (record === undefined || !this.enabled) return false;
    if (record.desired !== desired || this.clock.now() >= record.dueAt) return false;
    const after = (seq: number | undefined) => seq !== undefined && seq > record.seq;
    return !(
      this.overflowSeq > record.seq ||
      after(this.dirSeq.get(record.wd)) ||
      after(this.linkSeq.get(record.link.hostIndex)) ||
      after(this.nsidSeq.get(record.link.nsid)) ||
      after(this.pidSeq.get(record.pid)) ||
      after(this.mountSeq.get(name))
    );
  }

  /**
   * A full check of the tenant starts: its cgroup directory and its init (the pid its status last had) are
   * watched from here on. What is returned goes back to inSync once the check is done.
   */
  async starts(name: string, cgroupDir: string, initPid: number | null | undefined): Promise<QuietCheck> {
    this.records.delete(name);
    // The first look at the mount table comes before any check reads: a later change to it is then seen.
    if (this.mounts === undefined) this.refresh();
    const watch = this.enabled ? this.host.hostWatch() : undefined;
    if (watch === undefined) return { seq: this.seq, wd: undefined, pid: undefined };
    this.checking.set(name, this.seq);
    let pid: number | undefined;
    if (typeof initPid === 'number' && initPid > 0) {
      if (this.watchedPids.has(initPid)) pid = initPid;
      else if (watch.watchPid(initPid)) {
        this.watchedPids.add(initPid);
        pid = initPid;
      }
    }
    const seq = this.seq;
    return { seq, wd: await watch.watchDir(cgroupDir), pid };
  }

  /**
   * The check found the tenant in sync and changed nothing: it may be skipped until something touches it. Only
   * when everything it depends on was watched from the check's start (else the next resync checks it again, and
   * by then it is).
   */
  inSync(name: string, check: QuietCheck, desired: string, initPid: number | null, link: QuietLink | undefined): void {
    this.checking.delete(name);
    if (check.wd === undefined || check.pid === undefined || initPid !== check.pid || link === undefined || link.nsid < 0 || link.hostIndex <= 0) {
      this.logger.debug({ tenant: name, watched: check, initPid, link }, 'in sync, but not watched from the check start: read in full again next resync');
      this.records.delete(name);
      return;
    }
    const full = this.config.fullCheckIntervalMs;
    this.records.set(name, { seq: check.seq, desired, dueAt: this.clock.now() + full * (0.75 + 0.25 * this.jitter()), wd: check.wd, pid: check.pid, link });
  }

  /** The tenant was not found in sync, or not checked in full: the next resync checks it. */
  forget(name: string): void {
    this.checking.delete(name);
    this.records.delete(name);
  }

  /** How many tenants are quiet at the moment (for tests and the log). */
  get size(): number {
    return this.records.size;
  }

  /**
   * The tenants' namespace files and homes are mounts under the run directory: a tenant whose mounts differ
   * from the last look (one gone, or another namespace in its place) is touched.
   */
  private lookAtMounts(watch: QuietWatch, seq: number): void {
    const now = new Map<string, string>();
    for (const under of ['ns', 'homes']) {
      const prefix = `${join(this.config.runDir, under)}/`;
      for (const [point, what] of watch.mountsUnder(prefix)) {
        const tenant = point.slice(prefix.length).split('/')[0];
        now.set(tenant, `${now.get(tenant) ?? ''}${under}${point.slice(prefix.length + tenant.length)} ${what}\n`);
      }
    }
    const before = this.mounts;
    this.mounts = now;
    if (before === undefined) return;
    for (const tenant of new Set([...before.keys(), ...now.keys()])) if (before.get(tenant) !== now.get(tenant)) this.mountSeq.set(tenant, seq);
  }

  /** An event no older than every quiet tenant's check and every check under way can no longer tell anything. */
  private prune(): void {
    let oldest = this.seq;
    for (const record of this.records.values()) oldest = Math.min(oldest, record.seq);
    for (const seq of this.checking.values()) oldest = Math.min(oldest, seq);
    for (const map of [this.dirSeq, this.linkSeq, this.nsidSeq, this.pidSeq, this.mountSeq] as Array<Map<unknown, number>>)
      for (const [key, seq] of map) if (seq <= oldest) map.delete(key);
  }
}
