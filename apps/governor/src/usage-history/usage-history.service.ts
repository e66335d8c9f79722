import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TENANTS } from '../../../../libs/cgroup/src/layout';
import { parseCpuStat } from '../../../../libs/cgroup/src/stats/cpu-stat';
import { parseMemoryEvents } from '../../../../libs/cgroup/src/stats/memory';
import { parseLimitValue } from '../../../../libs/cgroup/src/stats/pids';
import type { LinkCounters } from '../../../../libs/network/src/tenant-link';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { type CatalogTenant, TenantCatalog } from '../metrics/tenant-catalog';
import { TenantEventsService } from '../tenant-events/tenant-events.service';
import { UsageRing } from './usage-ring';
import { findings, pointBetween, type RawSample, type SampleFindings, type UsagePoint } from './usage-sample';

/** 30 minutes of points, whatever the step: enough for the portal's charts, small enough to keep in memory for thousands of tenants. */
const HISTORY_KEPT_MS = 30 * 60_000;
/** Tenants whose files one native call reads: one trip to a worker per group, not per tenant. */
const TENANTS_PER_READ = 128;

export interface UsageHistory {
  intervalSeconds: number;
  points: UsagePoint[];
}

/**
 * Samples every tenant on this node every GOVERNOR_USAGE_SAMPLE_INTERVAL (15 s) into an in-memory ring (a
 * short history for the tenant's charts, kept in typed arrays: see UsageRing), and turns what it sees into
 * events: OOM kills and throttling episodes. The history starts empty after a restart; the events are in
 * PostgreSQL.
 */
@Injectable()
export class UsageHistoryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('usage-history');
  private readonly histories = new Map<string, UsageRing>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private readonly pointsKept: number;

  constructor(
    @Inject(HostAccess) private readonly host: Pick<HostAccess, 'maybeCgroups' | 'linkCounters'>,
    @Inject(TenantCatalog) private readonly catalog: Pick<TenantCatalog, 'tenants'>,
    @Inject(TenantEventsService) private readonly events: Pick<TenantEventsService, 'record'>,
    @Inject(GOVERNOR_CONFIG) private readonly config: Pick<GovernorConfig, 'usageSampleIntervalMs'>,
  ) {
    this.pointsKept = Math.ceil(HISTORY_KEPT_MS / config.usageSampleIntervalMs);
  }

  onApplicationBootstrap(): void {
    if (!this.host.maybeCgroups()) return;
    this.timer = setInterval(() => void this.sampleAll(), this.config.usageSampleIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  history(tenant: string): UsageHistory {
    return { intervalSeconds: this.config.usageSampleIntervalMs / 1000, points: this.histories.get(tenant)?.points() ?? [] };
  }

  /**
   * One pass over every tenant: their cgroup files TENANTS_PER_READ tenants to a native call, their links'
   * counters in one read of /proc/net/dev. A pass still running when the next is due makes that one skip.
   */
  async sampleAll(): Promise<void> {
    const driver = this.host.maybeCgroups();
    if (!driver || this.sampling) return;
    this.sampling = true;
    try {
      const tenants = this.catalog.tenants().filter((t) => t.phase !== 'Terminating');
      const sampled = new Set(tenants.map((t) => t.name));
      for (const name of this.histories.keys()) if (!sampled.has(name)) this.histories.delete(name);
      const links = tenants.some((t) => t.hostInterface !== undefined) ? this.readLinks() : new Map<string, LinkCounters>();
      for (let i = 0; i < tenants.length; i += TENANTS_PER_READ) {
        const group = tenants.slice(i, i + TENANTS_PER_READ);
        let files: Map<string, Map<string, string | undefined>>;
        try {
          files = await driver.fs.readAcross(
            TENANTS,
            group.map((t) => t.name),
            SAMPLED_FILES,
            TENANTS_PER_READ,
          );
        } catch (err) {
          this.logger.debug({ err, tenants: group.map((t) => t.name) }, 'usage sample failed');
          continue;
        }
        const at = Date.now();
        for (const tenant of group) {
          const current = sampleOf(at, files.get(tenant.name), tenant.hostInterface === undefined ? undefined : links.get(tenant.hostInterface));
          const found = this.sampleOne(tenant, current);
          if (found !== undefined) await this.report(tenant, found);
        }
      }
    } finally {
      this.sampling = false;
    }
  }

  private readLinks(): Map<string, LinkCounters> {
    try {
      return this.host.linkCounters();
    } catch (err) {
      this.logger.debug({ err }, 'link counters unreadable');
      return new Map();
    }
  }

  /** Adds the tenant's point; what should become an event is returned, so that a quiet tenant costs no await. */
  private sampleOne(tenant: CatalogTenant, current: RawSample): Found | undefined {
    let ring = this.histories.get(tenant.name);
    if (!ring) {
      ring = new UsageRing(this.pointsKept);
      this.histories.set(tenant.name, ring);
    }
    const last = ring.last();
    ring.setLast(current);
    if (last === undefined) return undefined;
    const point = pointBetween(last, current);
    ring.push(current.at, point);
    const found = findings(last, current, point, ring.throttling);
    if (found.throttling === 'ended') ring.throttling = false;
    if (found.throttling === 'started') ring.throttling = true;
    return found.oomKills > 0 || found.throttling === 'started' ? { ...found, throttledRatio: point.throttledRatio } : undefined;
  }

  private async report(tenant: CatalogTenant, found: Found): Promise<void> {
    try {
      if (found.oomKills > 0) {
        await this.events.record(
          tenant.id,
          'oom-kill',
          `the OOM killer killed ${found.oomKills} process${found.oomKills === 1 ? '' : 'es'}: memory.max was reached`,
          { oomKills: found.oomKills },
        );
      }
      if (found.throttling === 'started') {
        const percent = Math.round((found.throttledRatio ?? 0) * 100);
        await this.events.record(tenant.id, 'throttling', `CPU throttled by cpu.max in ${percent}% of periods`, { throttledRatio: found.throttledRatio });
      }
    } catch (err) {
      this.logger.debug({ err, tenant: tenant.name }, 'usage event not recorded');
    }
  }
}

type Found = SampleFindings & Pick<UsagePoint, 'throttledRatio'>;

const SAMPLED_FILES = ['cpu.stat', 'memory.current', 'pids.current', 'memory.events'];

function sampleOf(at: number, files: Map<string, string | undefined> | undefined, link: LinkCounters | undefined): RawSample {
  const [cpuStat, memory, pids, events] = SAMPLED_FILES.map((file) => files?.get(file));
  const cpu = cpuStat === undefined ? undefined : parseCpuStat(cpuStat);
  const number = (text: string | undefined) => {
    const value = text === undefined ? undefined : parseLimitValue(text);
    return typeof value === 'number' ? value : undefined;
  };
  return {
    at,
    cpuUsageUsec: cpu?.usageUsec,
    nrPeriods: cpu?.nrPeriods,
    nrThrottled: cpu?.nrThrottled,
    memoryBytes: number(memory),
    pids: number(pids),
    oomKills: events === undefined ? undefined : parseMemoryEvents(events)?.oomKill,
    receiveBytes: link?.receiveBytes,
    transmitBytes: link?.transmitBytes,
  };
}
