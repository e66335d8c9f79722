import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { releaseTornDown } from '../../../../libs/persistence/src/allocation';
import type { Fence } from '../leases/fleet-leases.service';

/** A deleted tenant whose uid and address blocks were released. */
export interface ReleasedTenant {
  tenantId: string;
  name: string;
}

/** The SQL of the quarantine release. */
@Injectable()
export class QuarantineRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Releases every block whose tenant each node has confirmed torn down, in one transaction that first checks the
   * lease's fence: a holder deposed before it gets here (its token raised by a takeover) releases nothing, and a
   * takeover waits for a transaction that passed the check (the fence reads the lease row FOR SHARE).
   */
  async releaseTornDown(fence: Fence): Promise<ReleasedTenant[]> {
    return this.db.transaction(async (tx) => {
      await fence(tx);
      return releaseTornDown(tx);
    });
  }
}
