import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { AuditService } from './audit.service';

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** Prunes the ledger and the audit log hourly, past GOVERNOR_RETENTION, and Idempotency-Keys past their 24 hours. A failed pass is retried next hour. */
@Injectable()
export class AuditRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('retention');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditService,
    private readonly idempotency: IdempotencyService,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async prune(): Promise<void> {
    try {
      const removed = { ...(await this.audit.prune(this.config.retentionMs)), idempotencyKeys: await this.idempotency.pruneExpired() };
      if (removed.audit + removed.ledger + removed.idempotencyKeys > 0) this.logger.log({ removed }, 'pruned entries past retention');
    } catch (err) {
      this.logger.warn({ err }, 'retention pass failed; retrying in an hour');
    }
  }
}
