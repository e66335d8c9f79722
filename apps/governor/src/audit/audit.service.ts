import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, LessThan } from 'typeorm';
import { AuditEntryEntity } from '../../../../libs/persistence/src/entities';
import { actorOf, type Principal } from '../auth/principal';
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
   * Drops ledger and audit rows older than the retention. The append-only trigger lets DELETE through only
   * when governor.retention is on, and SET LOCAL scopes that to this one transaction.
   */
  async prune(retentionMs: number): Promise<{ audit: number; ledger: number }> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL governor.retention = 'on'`);
      const cutoff = new Date(Date.now() - retentionMs);
      const [, audit] = (await tx.query('DELETE FROM audit_log WHERE at < $1', [cutoff])) as [unknown, number];
      const [, ledger] = (await tx.query('DELETE FROM quota_ledger WHERE at < $1', [cutoff])) as [unknown, number];
      return { audit, ledger };
    });
  }
}

function view(row: AuditEntryEntity): AuditEntryView {
  return { id: row.id, at: row.at.toISOString(), actor: row.actor, action: row.action, target: row.target, requestId: row.requestId, detail: row.detail };
}
