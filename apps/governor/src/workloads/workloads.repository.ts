import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan } from 'typeorm';
import { WorkloadEntity } from '../../../../libs/persistence/src/entities/workload.entity';
import { type AuditRecord, AuditService } from '../audit/audit.service';

/** The states in which a workload holds a slot of `workloads.max` and is the sync's to watch. */
export const ACTIVE_STATES: readonly string[] = ['starting', 'running'];

/** What a start writes: the row of a workload about to be launched, in state starting. */
export type NewWorkload = Pick<WorkloadEntity, 'id' | 'tenantId' | 'node' | 'command' | 'envNames' | 'cwd' | 'quota' | 'createdBy'>;

/** A start either got its row, or was refused with the count of active workloads it found at the limit. */
export type Admission = { admitted: true; row: WorkloadEntity } | { admitted: false; active: number };

/** What a sync records of a workload's monitor. */
export type WorkloadChange = Partial<Pick<WorkloadEntity, 'state' | 'pid' | 'exitCode' | 'signal' | 'message' | 'startedAt' | 'finishedAt'>>;

/** One tenant's workloads on a node in one state, and the ids of the running ones, for the metrics catalog. */
export interface WorkloadCount {
  tenant: string;
  state: string;
  count: number;
  running: string[];
}

/** The SQL of the workloads: their rows, the admission under `workloads.max`, the audit of a start or a stop. Nothing here touches the host. */
@Injectable()
export class WorkloadsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * Counts the tenant's active workloads on the row's node and inserts the row if there are fewer than `max`,
   * under a per-tenant lock, so that concurrent starts cannot all pass the count.
   */
  async admit(workload: NewWorkload, max: number): Promise<Admission> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`workloads:${workload.tenantId}`]);
      const repo = tx.getRepository(WorkloadEntity);
      const active = await repo.countBy({ tenantId: workload.tenantId, node: workload.node, state: In([...ACTIVE_STATES]) });
      if (active >= max) return { admitted: false, active };
      return { admitted: true, row: await repo.save(repo.create({ ...workload, state: 'starting' })) };
    });
  }

  async recordAudit(entry: AuditRecord): Promise<void> {
    await this.db.transaction((tx) => this.audit.record(tx, entry));
  }

  async markFailed(id: string, message: string): Promise<void> {
    await this.db.getRepository(WorkloadEntity).update({ id }, { state: 'failed', message, finishedAt: new Date() });
  }

  async get(id: string): Promise<WorkloadEntity> {
    return this.db.getRepository(WorkloadEntity).findOneByOrFail({ id });
  }

  async find(id: string): Promise<WorkloadEntity | undefined> {
    return (await this.db.getRepository(WorkloadEntity).findOneBy({ id })) ?? undefined;
  }

  async findOfTenant(tenantId: string, id: string): Promise<WorkloadEntity | undefined> {
    return (await this.db.getRepository(WorkloadEntity).findOneBy({ id, tenantId })) ?? undefined;
  }

  /** The tenant's newest workloads first, at most `limit`. */
  async listOfTenant(tenantId: string, limit: number): Promise<WorkloadEntity[]> {
    return this.db.getRepository(WorkloadEntity).find({ where: { tenantId }, order: { createdAt: 'DESC' }, take: limit });
  }

  /**
   * Sets the kill deadline of a starting or running workload, keeping an earlier one when it is sooner; the
   * deadline now in force, or undefined when the workload is not active (any more).
   */
  async setKillDeadline(id: string, at: Date): Promise<Date | undefined> {
    const [updated] = await this.db.query<[Array<{ kill_at: Date }>, number]>(
      `UPDATE workloads SET kill_at = LEAST(COALESCE(kill_at, $2), $2) WHERE id = $1 AND state IN ('starting', 'running') RETURNING kill_at`,
      [id, at],
    );
    return updated[0]?.kill_at;
  }

  /** Whether the workload is still active on `node` with its kill deadline passed (by the database's clock). */
  async killDue(id: string, node: string): Promise<boolean> {
    return this.db
      .getRepository(WorkloadEntity)
      .createQueryBuilder('w')
      .where('w.id = :id AND w.node = :node AND w.state IN (:...active) AND w.kill_at <= now()', { id, node, active: ACTIVE_STATES })
      .getExists();
  }

  /**
   * Records a change if the workload is still in one of `from`: conditional, so that of two writers (another
   * sync, a governor that was stopping) one records the change, once. Whether this one did.
   */
  async recordChange(id: string, change: WorkloadChange, from: readonly string[]): Promise<boolean> {
    const result = await this.db.createQueryBuilder().update(WorkloadEntity).set(change).where('id = :id AND state IN (:...from)', { id, from }).execute();
    return result.affected !== 0;
  }

  /** The starting and running workloads of `node`, with their tenant. */
  async activeOnNode(node: string): Promise<WorkloadEntity[]> {
    return this.db.getRepository(WorkloadEntity).find({ where: { node, state: In([...ACTIVE_STATES]) }, relations: { tenant: true } });
  }

  async activeIdsOnNode(node: string): Promise<Set<string>> {
    const rows = await this.db.getRepository(WorkloadEntity).find({ where: { node, state: In([...ACTIVE_STATES]) }, select: { id: true } });
    return new Set(rows.map((row) => row.id));
  }

  /** Of `ids`, those of `node` that ended before `cutoff`. */
  async endedBefore(ids: string[], node: string, cutoff: Date): Promise<string[]> {
    const rows = await this.db.getRepository(WorkloadEntity).find({ where: { id: In(ids), node, finishedAt: LessThan(cutoff) }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /** This node's workloads counted per live tenant and state. */
  async countsOnNode(node: string): Promise<WorkloadCount[]> {
    const rows: Array<{ tenant: string; state: string; count: string; running: string[] | null }> = await this.db.query(
      `SELECT t.name AS tenant, w.state, count(*) AS count, array_agg(w.id) FILTER (WHERE w.state = 'running') AS running
         FROM workloads w JOIN tenants t ON t.id = w.tenant_id
        WHERE w.node = $1 AND t.deleted_at IS NULL
        GROUP BY t.name, w.state`,
      [node],
    );
    return rows.map((row) => ({ tenant: row.tenant, state: row.state, count: Number(row.count), running: row.running ?? [] }));
  }
}
