import { statfs } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';

/**
 * Below this much free space the embedded server is about to refuse writes (a WAL segment is 16 MiB, and a
 * checkpoint needs room): readiness turns red before clients see their writes refused.
 */
const MIN_FREE_BYTES = 32 * 1024 * 1024;

@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly host: HostAccess,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** With the embedded server, why its disk cannot take writes; undefined with enough room or an external server. */
  async storageProblem(): Promise<string | undefined> {
    if (this.config.databaseUrl !== undefined) return undefined;
    try {
      const fs = await statfs(this.config.dataDir);
      const free = fs.bavail * fs.bsize;
      if (free < MIN_FREE_BYTES) return `the database's disk is full: ${free} bytes free under ${this.config.dataDir} (at least ${MIN_FREE_BYTES} needed)`;
      return undefined;
    } catch (err) {
      return `cannot check the free space under ${this.config.dataDir}: ${(err as Error).message}`;
    }
  }

  /** Why this process cannot act on the host, in the roles that should; undefined when it can or need not. */
  hostProblem(): string | undefined {
    return this.host.unavailableReason;
  }

  async databaseAnswers(): Promise<boolean> {
    try {
      await this.db.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }
}
