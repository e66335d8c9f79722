import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { FleetLeases } from '../leases/fleet-leases.service';
import { AuditService } from './audit.service';

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** The lease under which one instance of the fleet prunes. */
export const RETENTION_JOB = 'retention';

/**
 * Prunes hourly, on the one instance of the fleet that holds the retention lease, past GOVERNOR_RETENTION: the ledger, the audit log, tenant events, ended workloads and decided quota
 * requests (in bounded batches); and Idempotency-Keys past their 24 hours. A failed pass is retried next hour.
 */
@Injectable()
export class AuditRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('retention');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditService,
    private readonly idempotency: IdempotencyService,
    private readonly leases: FleetLeases,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; undefined when another instance holds the lease (or took it over during the pass). */
  async prune(): Promise<Record<string, number> | undefined> {
    try {
      const removed = await this.leases.run(RETENTION_JOB, async (fence) => ({
        ...(await this.audit.prune(this.config.retentionMs, fence)),
        idempotencyKeys: await this.idempotency.pruneExpired(fence),
      }));
      if (removed && Object.values(removed).some((n) => n > 0)) this.logger.log({ removed }, 'pruned entries past retention');
      return removed;
    } catch (err) {
      this.logger.warn({ err }, 'retention pass failed; retrying in an hour');
      return undefined;
    }
  }
}
