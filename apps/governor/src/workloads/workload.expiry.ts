import { Inject, Injectable, Logger } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { WorkloadHost } from './workload.host';
import { WorkloadsRepository } from './workloads.repository';

/** The parts of the repository and the host the expiry uses, so that a unit test hands it typed doubles. */
export type ExpiryRecords = Pick<WorkloadsRepository, 'endedBefore'>;
export type ExpiryHost = Pick<WorkloadHost, 'stateDirIds' | 'removeStateDir'>;

/**
 * Removes the state directories (logs and exit status) of this node's workloads that ended longer ago than
 * GOVERNOR_WORKLOAD_LOG_RETENTION, so that many workloads over time cannot fill /run. The rows stay (their
 * logs then read as empty); rows go with GOVERNOR_RETENTION, fleet-wide (AuditService.prune).
 */
@Injectable()
export class WorkloadExpiry {
  private readonly logger = new Logger('workloads');

  constructor(
    @Inject(WorkloadsRepository) private readonly repository: ExpiryRecords,
    @Inject(WorkloadHost) private readonly host: ExpiryHost,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** Removes what is past the retention; how many state directories went. */
  async expireLogs(): Promise<number> {
    const ids = await this.host.stateDirIds();
    if (ids.length === 0) return 0;
    const cutoff = new Date(Date.now() - this.config.workloadLogRetentionMs);
    const expired = await this.repository.endedBefore(ids, this.config.nodeName, cutoff);
    for (const id of expired) await this.host.removeStateDir(id);
    if (expired.length > 0) this.logger.log({ removed: expired.length }, 'removed the logs of workloads past GOVERNOR_WORKLOAD_LOG_RETENTION');
    return expired.length;
  }
}
