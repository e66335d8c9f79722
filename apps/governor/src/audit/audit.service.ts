import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, LessThan } from 'typeorm';
import { AuditEntryEntity } from '../../../../libs/persistence/src/entities';
import { actorOf, type Principal } from '../auth/principal';
import type { Fence } from '../leases/fleet-leases.service';
import { decodeCursor, type Page, toPage } from '../common/pagination';

export interface AuditRecord {
  actor: Principal;
  action: string;
  target: string;
  requestId: string | undefined;
  detail?: Record<string, unknown>;
}

export interface AuditEntryView {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  requestId: string | null;
  detail: Record<string, unknown>;
}

/**
 * What retention removes, by table: the key to delete by and what makes a row old ($1 is the cutoff). Workloads
 * and quota requests go only once they are over (ended, decided); a tenant's events, ledger and audit by age.
 */
const RETAINED = {
  audit_log: { key: 'id', old: 'at < $1' },
  quota_ledger: { key: 'id', old: 'at < $1' },
  tenant_events: { key: 'id', old: 'at < $1' },
  workloads: { key: 'id', old: "finished_at < $1 AND state NOT IN ('starting', 'running')" },
  quota_requests: { key: 'id', old: "decided_at < $1 AND state <> 'pending'" },
} as const;
export type RetainedTable = keyof typeof RETAINED;

@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Written inside the caller's transaction, so that an action and its audit row commit together. */
  async record(tx: EntityManager, entry: AuditRecord): Promise<void> {
    const row = tx.create(AuditEntryEntity, {
      actor: actorOf(entry.actor),
      action: entry.action,
      target: entry.target,
      requestId: entry.requestId ?? null,
      detail: entry.detail ?? {},
    });
    await tx.save(row);
  }

  /** Newest first. The cursor is the id of the last entry seen. */
  async list(limit: number, cursor: unknown, target: string | undefined): Promise<Page<AuditEntryView>> {
    const before = decodeCursor(cursor, (key) => /^[1-9]\d{0,18}$/.test(key));
    const rows = await this.db.getRepository(AuditEntryEntity).find({
      where: { ...(before ? { id: LessThan(before) } : {}), ...(target ? { target } : {}) },
      order: { id: 'DESC' },
      take: limit + 1,
    });
    return toPage(rows.map(view), limit, (entry) => entry.id);
  }

  /**
   * Removes what is older than the retention, in batches of `batch` rows, each in its own short transaction,
   * so that a first pass over a year of rows neither holds one huge transaction nor locks the tables for long.
   * The ledger and the audit log refuse DELETE outside a transaction that says it is the retention job (SET
   * LOCAL scopes that to the one transaction). Each batch first checks the fleet lease's `fence`, so that an
   * instance deposed mid-pass deletes nothing more.
   */
  async prune(retentionMs: number, fence: Fence, batch = 5000): Promise<Record<RetainedTable, number>> {
    const cutoff = new Date(Date.now() - retentionMs);
    const removed = {} as Record<RetainedTable, number>;
    for (const [table, { key, old }] of Object.entries(RETAINED) as [RetainedTable, (typeof RETAINED)[RetainedTable]][]) {
      removed[table] = 0;
      for (;;) {
        const count = await this.db.transaction(async (tx) => {
          await fence(tx);
          await tx.query(`SET LOCAL governor.retention = 'on'`);
          const [, n] = await tx.query<[unknown, number]>(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${old} LIMIT $2)`, [
            cutoff,
            batch,
          ]);
          return n;
        });
        removed[table] += count;
        if (count < batch) break;
      }
    }
    return removed;
  }
}

function view(row: AuditEntryEntity): AuditEntryView {
  return { id: row.id, at: row.at.toISOString(), actor: row.actor, action: row.action, target: row.target, requestId: row.requestId, detail: row.detail };
}
