import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { QuotaLedgerEntity, TenantEventEntity } from '../../../../libs/persistence/src/entities';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';

export type TenantEventKind = 'oom-kill' | 'throttling' | 'workload' | 'init' | 'pids' | 'quota-change';

export interface TenantEventView {
  at: string;
  kind: TenantEventKind;
  /** one sentence for a person */
  message: string;
  node: string | null;
  detail: Record<string, unknown>;
}

/**
 * What happened to a tenant that it should know about: OOM kills and throttling episodes seen by the
 * usage sampler, workloads that ended badly, and (from the ledger, not copied) quota changes.
 */
@Injectable()
export class TenantEventsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  async record(tenantId: string, kind: Exclude<TenantEventKind, 'quota-change'>, message: string, detail: Record<string, unknown> = {}): Promise<void> {
    const repo = this.db.getRepository(TenantEventEntity);
    await repo.save(repo.create({ tenantId, kind, message, detail, at: new Date(), node: this.config.nodeName }));
  }

  /** The newest events first, quota changes included. */
  async list(tenantId: string, limit: number): Promise<TenantEventView[]> {
    const [events, ledger] = await Promise.all([
      this.db.getRepository(TenantEventEntity).find({ where: { tenantId }, order: { at: 'DESC', id: 'DESC' }, take: limit }),
      this.db.getRepository(QuotaLedgerEntity).find({ where: { tenantId }, order: { at: 'DESC', id: 'DESC' }, take: limit }),
    ]);
    const views: Array<TenantEventView & { time: number }> = [
      ...events.map((e) => ({
        time: e.at.getTime(),
        at: e.at.toISOString(),
        kind: e.kind as TenantEventKind,
        message: e.message,
        node: e.node,
        detail: e.detail,
      })),
      ...ledger.map((entry) => ({
        time: entry.at.getTime(),
        at: entry.at.toISOString(),
        kind: 'quota-change' as const,
        message: entry.after === null ? `the tenant was deleted by ${entry.actor}` : `the quota was changed by ${entry.actor} (generation ${entry.generation})`,
        node: null,
        detail: { before: entry.before, after: entry.after, generation: entry.generation, actor: entry.actor },
      })),
    ];
    views.sort((a, b) => b.time - a.time);
    return views.slice(0, limit).map((view) => ({ at: view.at, kind: view.kind, message: view.message, node: view.node, detail: view.detail }));
  }
}
