import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Quota } from '../../../../libs/domain/src/quota.types';
import { NodeEntity } from '../../../../libs/persistence/src/entities';
import type { NodeCapacity, Placement } from './admission.rules';

/** pg_advisory_xact_lock(int4, int4) namespace of admission ("gv" 4), apart from allocation's 1 and 2 and the leases' 3 */
const ADMISSION_LOCK = 0x67760004;

/** The SQL of admission: node capacities, the guarantees already placed, and the per-node locks that serialise checks. */
@Injectable()
export class AdmissionRepository {
  async capacities(tx: EntityManager): Promise<NodeCapacity[]> {
    const rows = await tx.getRepository(NodeEntity).find({
      select: { name: true, capacityCpus: true, capacityMemoryBytes: true, cpuList: true, reservedCpus: true, reservedMemoryBytes: true },
      order: { name: 'ASC' },
    });
    return rows.map((row) => ({
      name: row.name,
      cpus: row.capacityCpus,
      memoryBytes: row.capacityMemoryBytes,
      cpuList: row.cpuList,
      reservedCpus: row.reservedCpus,
      reservedMemoryBytes: row.reservedMemoryBytes,
    }));
  }

  /**
   * Holds each node's admission lock until the transaction ends, taken in name order so that two checks
   * over overlapping nodes cannot deadlock. Two creates that both fit alone but not together then run
   * one after the other, and the second sees the first's tenant (READ COMMITTED reads anew per statement).
   */
  async lockNodes(tx: EntityManager, nodes: readonly string[]): Promise<void> {
    for (const node of [...nodes].sort()) await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ADMISSION_LOCK, node]);
  }

  /** Every live tenant but `exceptId` that holds a guarantee, with its nodes. Terminating tenants still hold theirs. */
  async placements(tx: EntityManager, exceptId: string | null): Promise<Placement[]> {
    const rows = await tx.query<Array<{ nodes: string[]; quota: Quota }>>(
      `SELECT nodes, quota FROM tenants
        WHERE deleted_at IS NULL AND id IS DISTINCT FROM $1::uuid
          AND (quota->'memory' ? 'min' OR quota->'cpuset' ? 'cpus')`,
      [exceptId],
    );
    return rows.map((row) => ({ nodes: row.nodes, quota: row.quota }));
  }
}
