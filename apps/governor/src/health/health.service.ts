import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { HostAccess } from '../host/host.access';

@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly host: HostAccess,
  ) {}

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
