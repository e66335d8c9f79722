import { Inject, Injectable, Logger } from '@nestjs/common';
import type { WorkloadEntity } from '../../../../libs/persistence/src/entities/workload.entity';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { TenantEventsService } from '../tenant-events/tenant-events.service';

/**
 * Below this much room the run directory counts as full: a monitor's log writes fail, and a status it could not
 * set room aside for waits in its memory (native/monitor.c).
 */
const RUN_DIR_FULL_BELOW = 1024 * 1024;

/**
 * Watches the room left in GOVERNOR_RUN_DIR, where the monitors keep their logs and exit statuses. A run directory
 * without room drops the workloads' output, and the exit status of a workload that ends then waits in its
 * monitor's memory (it reads as running) until it can be written. Each running workload's tenant is told once per
 * episode, and the log says when there is room again.
 */
@Injectable()
export class RunDirWatch {
  private readonly logger = new Logger('run-dir');
  /** workloads told that the run directory is full in the current episode (cleared once there is room again) */
  private readonly told = new Set<string>();

  constructor(
    private readonly host: HostAccess,
    private readonly events: TenantEventsService,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** Called by the workload sync with this node's running workloads. */
  async check(active: WorkloadEntity[]): Promise<void> {
    const monitors = this.host.monitors();
    const free = await monitors.freeBytes().catch(() => undefined);
    if (free === undefined) return;
    if (free >= RUN_DIR_FULL_BELOW) {
      if (this.told.size > 0) this.logger.log({ runDir: monitors.directory, free }, 'the run directory has room again');
      this.told.clear();
      return;
    }
    for (const row of active) {
      if (this.told.has(row.id)) continue;
      this.told.add(row.id);
      const message = `workload ${row.id} (${row.command[0]}): the run directory ${monitors.directory} is full (${free} bytes free on node ${this.config.nodeName}): its output is dropped, and should it end now, its exit status waits in its monitor until there is room`;
      this.logger.warn({ id: row.id, runDir: monitors.directory, free }, message);
      await this.events
        .record(row.tenantId, 'workload', message, { workload: row.id, condition: 'run-dir-full', freeBytes: free })
        .catch((err: unknown) => this.logger.warn({ err, id: row.id }, 'could not record the run-directory-full event'));
    }
  }
}
