import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { canonicalQuotaPatch } from '../../../../libs/domain/src/quota';
import { QuotaRequestEntity, TenantEntity } from '../../../../libs/persistence/src/entities';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { AuditService } from '../audit/audit.service';
import { actorOf } from '../auth/principal';
import type { TenantPlan } from '../host/tenant-host.service';
import { TenantHostRouter } from '../host/tenant-host.router';
import { assertAccepting, TenantsService } from '../tenants/tenants.service';
import { QuotaRequestException, QuotaRequestExceptionCode } from './quota-request.exception';
import type { CreateQuotaRequestInput, QuotaRequestState } from './quota-request.request';

export interface QuotaRequestView {
  id: string;
  tenant: string;
  state: string;
  /** the merge patch of the quota the tenant asked for */
  quota: Record<string, unknown>;
  reason: string;
  createdAt: string;
  createdBy: string;
  decidedAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  /** for a pending request, what approving it would write now (per node), with warnings */
  plan: TenantPlan | null;
  /** why there is no plan for a pending request (this process does not act on a host, or the patch no longer fits) */
  planError?: string;
}

/** A tenant may have this many requests waiting at once; it can withdraw one to make another. */
const MAX_PENDING_PER_TENANT = 10;

/**
 * Quota requests: a tenant asks for a merge patch of its quota with a reason; an admin sees what it would
 * change (the plan) and approves it, which patches the tenant through the normal path (ledger,
 * generation, reconcile), or rejects it with a reason. Every step is audited.
 */
@Injectable()
export class QuotaRequestsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly host: TenantHostRouter,
    private readonly audit: AuditService,
  ) {}

  async create(tenantName: string, input: CreateQuotaRequestInput, actor: Actor): Promise<QuotaRequestView> {
    // The patched quota must be valid now: a 400 names each bad field, as PATCH would.
    await this.tenants.preview(tenantName, { quota: input.quota }, 'quota requests');
    const row = await this.db.transaction(async (tx) => {
      const tenant = await lockTenant(tx, tenantName);
      assertAccepting(tenant, 'quota requests');
      const repo = tx.getRepository(QuotaRequestEntity);
      if ((await repo.countBy({ tenantId: tenant.id, state: 'pending' })) >= MAX_PENDING_PER_TENANT) {
        throw new QuotaRequestException(
          QuotaRequestExceptionCode.TOO_MANY,
          `tenant ${tenantName} has ${MAX_PENDING_PER_TENANT} pending quota requests, the most allowed; withdraw one or wait for a decision`,
        );
      }
      const patch = canonicalQuotaPatch(input.quota);
      const saved = await repo.save(repo.create({ tenantId: tenant.id, patch, reason: input.reason, state: 'pending', createdBy: actorOf(actor.principal) }));
      await this.audit.record(tx, {
        actor: actor.principal,
        action: 'quota-request.create',
        target: `tenants/${tenantName}/quota-requests/${saved.id}`,
        requestId: actor.requestId,
        detail: { quota: saved.patch, reason: input.reason },
      });
      return saved;
    });
    return this.view(row, tenantName);
  }

  /** The tenant's own requests, newest first. */
  async listForTenant(tenantName: string): Promise<QuotaRequestView[]> {
    const tenant = await this.tenants.get(tenantName);
    const rows = await this.db.getRepository(QuotaRequestEntity).find({ where: { tenantId: tenant.id }, order: { createdAt: 'DESC' }, take: 100 });
    return Promise.all(rows.map((row) => this.view(row, tenantName)));
  }

  async withdraw(tenantName: string, id: string, actor: Actor): Promise<QuotaRequestView> {
    const tenant = await this.tenants.get(tenantName);
    const row = await this.decide(id, tenant.id, 'withdrawn', actor, undefined, 'quota-request.withdraw');
    return this.view(row, tenantName);
  }

  /** Every tenant's requests (or those in one state), oldest pending first so that they are decided in order. */
  async list(state: QuotaRequestState | undefined, limit: number): Promise<QuotaRequestView[]> {
    const rows = await this.db.getRepository(QuotaRequestEntity).find({
      // Requests of deleted (tombstoned) tenants are history, not work: left out by the query, so a page is full.
      where: { ...(state === undefined ? {} : { state }), tenant: { deletedAt: IsNull() } },
      relations: { tenant: true },
      order: { createdAt: state === 'pending' ? 'ASC' : 'DESC' },
      take: limit,
    });
    return Promise.all(rows.map((row) => this.view(row, row.tenant!.name)));
  }

  async get(id: string): Promise<QuotaRequestView> {
    const row = await this.find(this.db.manager, id);
    return this.view(row, row.tenant!.name);
  }

  /** Applies the requested patch to the tenant as the approving admin, then marks the request approved. */
  async approve(id: string, actor: Actor, reason: string | undefined): Promise<QuotaRequestView> {
    const row = await this.db.transaction(async (tx) => {
      const request = await this.find(tx, id, true);
      assertPending(request);
      const tenant = await this.tenants.update(request.tenant!.name, { quota: request.patch }, undefined, actor, false, tx);
      return this.settle(tx, request, 'approved', actor, reason, 'quota-request.approve', { generation: tenant.generation });
    });
    return this.view(row, row.tenant!.name);
  }

  async reject(id: string, actor: Actor, reason: string): Promise<QuotaRequestView> {
    const row = await this.decide(id, undefined, 'rejected', actor, reason, 'quota-request.reject');
    return this.view(row, row.tenant!.name);
  }

  private async decide(
    id: string,
    tenantId: string | undefined,
    state: 'withdrawn' | 'rejected',
    actor: Actor,
    reason: string | undefined,
    action: string,
  ): Promise<QuotaRequestEntity> {
    return this.db.transaction(async (tx) => {
      const request = await this.find(tx, id, true, tenantId);
      assertPending(request);
      return this.settle(tx, request, state, actor, reason, action, {});
    });
  }

  private async settle(
    tx: EntityManager,
    request: QuotaRequestEntity,
    state: 'approved' | 'rejected' | 'withdrawn',
    actor: Actor,
    reason: string | undefined,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<QuotaRequestEntity> {
    Object.assign(request, { state, decidedAt: new Date(), decidedBy: actorOf(actor.principal), decisionReason: reason ?? null });
    await tx
      .getRepository(QuotaRequestEntity)
      .update({ id: request.id }, { state, decidedAt: request.decidedAt, decidedBy: request.decidedBy, decisionReason: request.decisionReason });
    await this.audit.record(tx, {
      actor: actor.principal,
      action,
      target: `tenants/${request.tenant!.name}/quota-requests/${request.id}`,
      requestId: actor.requestId,
      detail: { ...detail, quota: request.patch, reason: reason ?? null },
    });
    return request;
  }

  /** A request of a live tenant (of one tenant when given: another tenant's request is as missing as none). */
  private async find(manager: EntityManager, id: string, lock = false, tenantId?: string): Promise<QuotaRequestEntity> {
    const repo = manager.getRepository(QuotaRequestEntity);
    const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);
    const row = valid
      ? await repo.findOne({
          where: { id, ...(tenantId === undefined ? {} : { tenantId }) },
          ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
        })
      : null;
    const tenant = row ? await manager.getRepository(TenantEntity).findOneBy({ id: row.tenantId }) : null;
    if (!row || !tenant || tenant.deletedAt !== null) {
      throw new QuotaRequestException(QuotaRequestExceptionCode.NOT_FOUND, `no quota request has id ${JSON.stringify(id)}`);
    }
    row.tenant = tenant;
    return row;
  }

  private async view(row: QuotaRequestEntity, tenantName: string): Promise<QuotaRequestView> {
    const view: QuotaRequestView = {
      id: row.id,
      tenant: tenantName,
      state: row.state,
      quota: row.patch,
      reason: row.reason,
      createdAt: row.createdAt.toISOString(),
      createdBy: row.createdBy,
      decidedAt: row.decidedAt?.toISOString() ?? null,
      decidedBy: row.decidedBy,
      decisionReason: row.decisionReason,
      plan: null,
    };
    if (row.state !== 'pending') return view;
    try {
      view.plan = await this.host.plan(tenantName, { quota: row.patch });
    } catch (err) {
      view.planError = err instanceof Error ? err.message : String(err);
    }
    return view;
  }
}

function assertPending(request: QuotaRequestEntity): void {
  if (request.state !== 'pending') {
    throw new QuotaRequestException(
      QuotaRequestExceptionCode.DECIDED,
      `quota request ${request.id} is already ${request.state}; only a pending request can change`,
    );
  }
}

async function lockTenant(tx: EntityManager, name: string): Promise<TenantEntity> {
  const tenant = await tx
    .getRepository(TenantEntity)
    .createQueryBuilder('t')
    .where('t.name = :name AND t.deleted_at IS NULL', { name })
    .setLock('pessimistic_write')
    .getOne();
  if (!tenant) throw new QuotaRequestException(QuotaRequestExceptionCode.NOT_FOUND, `no tenant is named ${JSON.stringify(name)}`);
  return tenant;
}
