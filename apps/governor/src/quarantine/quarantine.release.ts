import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { type Fence, FleetLeases } from '../leases/fleet-leases.service';
import { QuarantineRepository, type ReleasedTenant } from './quarantine.repository';

/** The lease under which one instance of the fleet releases quarantined blocks. */
export const QUARANTINE_RELEASE_JOB = 'quarantine-release';

export type QuarantineStore = Pick<QuarantineRepository, 'releaseTornDown'>;
export type QuarantineLeases = Pick<FleetLeases, 'run'>;

/**
 * Releases the uid and address blocks of deleted tenants once every node that hosted them has confirmed its
 * teardown: a fleet-wide job, run by the one instance that holds its lease. Each agent confirms its own
 * teardown (a Deleted status row); only the holder releases, in a transaction that checks its fencing token,
 * so that a holder deposed while it ran (its session ended, another took the lease) releases nothing more.
 * A pass runs every GOVERNOR_RESYNC_INTERVAL, and at once when this process tombstones a tenant or confirms
 * a teardown (it acts then only if it holds, or can take, the lease).
 */
@Injectable()
export class QuarantineRelease implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('quarantine');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    @Inject(QuarantineRepository) private readonly repository: QuarantineStore,
    @Inject(FleetLeases) private readonly leases: QuarantineLeases,
    @Inject(GOVERNOR_CONFIG) private readonly config: Pick<GovernorConfig, 'resyncIntervalMs'>,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.kick(), this.config.resyncIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * One pass in the background; a failed one is logged and retried at the next interval. Kicks while a pass runs
   * (many deletions at once) make one more pass after it, not one each.
   */
  kick(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err }, 'quarantine release pass failed; retrying at the next resync interval'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves once no kicked pass runs or waits (for tests). */
  async settled(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** One pass: the tenants released; undefined when another instance holds the lease (or took it during the pass). */
  async pass(): Promise<ReleasedTenant[] | undefined> {
    return this.leases.run(QUARANTINE_RELEASE_JOB, (fence) => this.release(fence));
  }

  /** The release itself, under `fence`: what a pass does once it holds the lease. */
  async release(fence: Fence): Promise<ReleasedTenant[]> {
    const released = await this.repository.releaseTornDown(fence);
    for (const { tenantId, name } of released) {
      this.logger.log({ tenant: name, tenantId }, `released the uid and address blocks of deleted tenant ${name}: every node confirmed its teardown`);
    }
    return released;
  }
}
