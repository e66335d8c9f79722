import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HostAccess } from '../host/host.access';
import { TenantCatalog } from '../metrics/tenant-catalog';
import { TenantEventsService } from '../tenant-events/tenant-events.service';
import { TenantsService } from '../tenants/tenants.service';

const WATCH_EVERY_MS = 1000;
/** A workload that keeps forking into its limit gets one event when it starts and then one a minute at most. */
const REPEAT_EVENT_MS = 60_000;

interface Seen {
  refused: number;
  reportedAt: number;
}

/**
 * Fork-bomb containment: pids.max holds a bomb (the kernel refuses the forks); this watches each running
 * workload's pids.events max every second, records a tenant event (kind pids) when it grows, and with the
 * tenant's policy pids.onLimit "kill" evicts the workload (cgroup.kill on its leaf, which its monitor, in a leaf
 * of its own next to it, survives and reports). Per workload leaf, because before Linux 6.11 a refused fork counts only
 * in the forking process's own cgroup, not in the tenant's.
 */
@Injectable()
export class ForkWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('fork-watch');
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly host: HostAccess,
    private readonly catalog: TenantCatalog,
    private readonly tenants: TenantsService,
    private readonly events: TenantEventsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.host.maybeCgroups()?.capabilities.available.includes('pids')) return;
    this.timer = setInterval(() => void this.pass().catch((err: unknown) => this.logger.warn({ err }, 'fork watch pass failed')), WATCH_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async pass(): Promise<void> {
    const driver = this.host.maybeCgroups();
    if (!driver || this.running) return;
    this.running = true;
    try {
      const live = new Set<string>();
      for (const { tenant, ids } of this.catalog.running()) {
        for (const id of ids) {
          live.add(id);
          const refused = await driver.workloadPidsEvents(tenant.name, id).catch(() => undefined);
          const before = this.seen.get(id);
          if (refused === undefined || refused <= (before?.refused ?? 0)) continue;
          const now = Date.now();
          this.seen.set(id, { refused, reportedAt: before && now - before.reportedAt < REPEAT_EVENT_MS ? before.reportedAt : now });
          if (before && now - before.reportedAt < REPEAT_EVENT_MS) continue;
          await this.limitReached(tenant.name, tenant.id, id, refused);
        }
      }
      for (const id of this.seen.keys()) if (!live.has(id)) this.seen.delete(id);
    } finally {
      this.running = false;
    }
  }

  private async limitReached(tenantName: string, tenantId: string, id: string, refused: number): Promise<void> {
    const policy = (await this.tenants.get(tenantName).catch(() => undefined))?.quota.pids?.onLimit ?? 'none';
    let evicted = false;
    if (policy === 'kill') {
      evicted = await this.host
        .cgroups()
        .killWorkload(tenantName, id)
        .catch((err: unknown) => {
          this.logger.warn({ err, tenant: tenantName, id }, 'could not evict a workload at pids.max');
          return false;
        });
    }
    const message = `workload ${id} reached pids.max: ${refused} fork${refused === 1 ? '' : 's'} refused${evicted ? '; evicted (pids.onLimit kill)' : ''}`;
    this.logger.warn({ tenant: tenantName, id, refused, policy, evicted }, message);
    await this.events.record(tenantId, 'pids', message, { workload: id, refused, policy, evicted });
  }
}
