import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, IsNull, MoreThan } from 'typeorm';
import { applyMergePatch } from '../../../../libs/domain/src/merge-patch';
import { TENANT_NAME_PATTERN } from '../../../../libs/domain/src/tenant-name';
import { QuotaLedgerEntity, TenantEntity, TenantStatusEntity } from '../../../../libs/persistence/src/entities';
import { NodesService } from '../nodes/nodes.service';
import { AdmissionService } from '../admission/admission.service';
import { AllocationExhaustedError, allocateTenant, allocationsOf, quarantineTenant } from '../../../../libs/persistence/src/allocation';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import type { TenantDto } from './dto/tenant.dto';
import { type TenantFacts, toTenantView } from './tenant.view';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { AuditService } from '../audit/audit.service';
import { actorOf } from '../auth/principal';
import { decodeCursor, type Page, toPage } from '../common/pagination';
import { TenantException, TenantExceptionCode } from './tenant.exception';
import { type CreateTenantInput, parseSpec, parseTenantPatch, type TenantSpec } from './tenant.request';
import { TenantsRepository } from './tenants.repository';
import { QuarantineRelease } from '../quarantine/quarantine.release';

/** The channel agents LISTEN on; the payload is the tenant name. */
export const CHANGES_CHANNEL = 'governor_changes';
const UNIQUE_VIOLATION = '23505';

export interface LedgerEntryView {
  id: string;
  at: string;
  actor: string;
  generation: number;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

@Injectable()
export class TenantsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly nodes: NodesService,
    private readonly admission: AdmissionService,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
    private readonly records: TenantsRepository,
    private readonly quarantine: QuarantineRelease,
  ) {}

  /** A live tenant and its API view, from one statement (GET /v1/tenants/{name}). */
  async read(name: string): Promise<{ tenant: TenantEntity; view: TenantDto }> {
    const record = await this.records.findRecord(name);
    if (record === undefined) throw TenantException.notFound(name);
    const { tenant, statuses, allocation, fleet } = record;
    const facts = { statuses, fleet, allocation, runDir: this.config.runDir, net6Prefix: this.config.net6Prefix };
    return { tenant, view: toTenantView(tenant, facts) };
  }

  /** What a tenant's view shows besides its row: per-node status, its uid range and link addresses. */
  /** The API form of one tenant, with its statuses and allocation. */
  async view(tenant: TenantEntity): Promise<TenantDto> {
    return toTenantView(tenant, (await this.facts([tenant.id]))(tenant.id));
  }

  async facts(tenantIds: string[]): Promise<(tenantId: string) => TenantFacts> {
    const statuses = await this.statuses(tenantIds);
    const allocations = await allocationsOf(this.db.manager, tenantIds);
    const fleet = await this.nodes.fleet();
    return (id) => ({
      statuses: statuses.get(id),
      fleet,
      allocation: allocations.get(id),
      runDir: this.config.runDir,
      net6Prefix: this.config.net6Prefix,
    });
  }

  /** Each node's status of these tenants, keyed by tenant id. */
  async statuses(tenantIds: string[]): Promise<Map<string, TenantStatusEntity[]>> {
    const rows =
      tenantIds.length === 0
        ? []
        : await this.db.getRepository(TenantStatusEntity).find({ where: tenantIds.map((tenantId) => ({ tenantId })), order: { node: 'ASC' } });
    const byTenant = new Map<string, TenantStatusEntity[]>();
    for (const row of rows) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row]);
    return byTenant;
  }

  async create(input: CreateTenantInput, actor: Actor): Promise<TenantEntity> {
    try {
      return await this.db.transaction(async (tx) => {
        const existing = await tx.getRepository(TenantEntity).findOneBy({ name: input.name, deletedAt: IsNull() });
        if (existing) throw conflictWith(existing);
        // Before the insert: its node locks are then taken before allocation's, in every transaction.
        await this.admission.enforce(tx, null, null, { quota: input.quota, nodes: input.nodes });
        const tenant = await tx.getRepository(TenantEntity).save(
          tx.getRepository(TenantEntity).create({
            name: input.name,
            displayName: input.displayName,
            quota: input.quota,
            nodes: input.nodes,
            rootfs: input.rootfs,
            hostname: input.hostname,
          }),
        );
        // Identity and addresses come with the tenant, in its transaction: PostgreSQL keeps them disjoint.
        // Clear of every node's /etc/subuid and /etc/subgid, as the agents registered them: the API host's own files say nothing of where tenants run.
        const excluded = await this.nodes.excludedIdRanges(tx);
        await allocateTenant(tx, tenant.id, { uid: this.config.uidPool, net: this.config.netPool }, excluded).catch((err: unknown) => {
          throw err instanceof AllocationExhaustedError ? new TenantException(TenantExceptionCode.POOL_EXHAUSTED, err.message) : err;
        });
        await this.recordQuotaChange(tx, tenant, null, actor);
        await this.audit.record(tx, {
          actor: actor.principal,
          action: 'tenant.create',
          target: `tenants/${tenant.name}`,
          requestId: actor.requestId,
          detail: { tenantId: tenant.id },
        });
        await notify(tx, tenant.name);
        return tenant;
      });
    } catch (err) {
      // Two creates of one name can both pass the check; the partial unique index decides.
      if ((err as { code?: unknown }).code === UNIQUE_VIOLATION || (err as { driverError?: { code?: unknown } }).driverError?.code === UNIQUE_VIOLATION) {
        throw new TenantException(TenantExceptionCode.ALREADY_EXISTS, `a tenant named ${JSON.stringify(input.name)} exists; choose another name`);
      }
      throw err;
    }
  }

  async list(limit: number, cursor: unknown): Promise<Page<TenantEntity>> {
    const after = decodeCursor(cursor, (key) => TENANT_NAME_PATTERN.test(key));
    const rows = await this.db.getRepository(TenantEntity).find({
      where: { deletedAt: IsNull(), ...(after ? { name: MoreThan(after) } : {}) },
      order: { name: 'ASC' },
      take: limit + 1,
    });
    return toPage(rows, limit, (tenant) => tenant.name);
  }

  async get(name: string): Promise<TenantEntity> {
    const tenant = await this.db.getRepository(TenantEntity).findOneBy({ name, deletedAt: IsNull() });
    if (!tenant) throw TenantException.notFound(name);
    return tenant;
  }

  /** A live tenant that takes new work (`what`, e.g. "new workloads"): a Terminating one is a 409. */
  async getAccepting(name: string, what: string): Promise<TenantEntity> {
    const tenant = await this.get(name);
    assertAccepting(tenant, what);
    return tenant;
  }

  /**
   * Applies a JSON merge patch under a row lock, so that concurrent patches serialise and none is lost.
   * A patch that changes nothing bumps nothing; one that changes what agents enforce bumps the generation
   * and wakes them.
   */
  async update(name: string, body: unknown, ifMatch: string | undefined, actor: Actor, force = false, manager?: EntityManager): Promise<TenantEntity> {
    const patch = parseTenantPatch(body);
    // Inside the caller's transaction when it has one: a second connection per transaction can starve the pool.
    const inTransaction = <T>(work: (tx: EntityManager) => Promise<T>) => (manager ? work(manager) : this.db.transaction(work));
    return inTransaction(async (tx) => {
      const tenant = await lockLive(tx, name);
      assertAccepting(tenant, 'changes');
      assertMatches(tenant, ifMatch);
      const current: TenantSpec = { displayName: tenant.displayName, quota: tenant.quota, nodes: tenant.nodes, suspended: tenant.suspended };
      const next = parseSpec(applyMergePatch(current, patch) as Record<string, unknown>);
      const quotaChanged = !isDeepStrictEqual(next.quota, current.quota);
      const enforced = quotaChanged || !isDeepStrictEqual(next.nodes, current.nodes) || next.suspended !== current.suspended;
      if (!enforced && next.displayName === current.displayName) return tenant;
      if (quotaChanged || !isDeepStrictEqual(next.nodes, current.nodes)) await this.admission.enforce(tx, tenant.id, current, next);

      const before = tenant.quota;
      Object.assign(tenant, next, { resourceVersion: tenant.resourceVersion + 1 });
      if (enforced) tenant.generation += 1;
      if (enforced && force) tenant.forceGeneration = tenant.generation;
      const saved = await tx.getRepository(TenantEntity).save(tenant);
      if (quotaChanged) await this.recordQuotaChange(tx, saved, before, actor);
      await this.audit.record(tx, {
        actor: actor.principal,
        action: 'tenant.update',
        target: `tenants/${name}`,
        requestId: actor.requestId,
        detail: { tenantId: tenant.id, patch, force, generation: saved.generation, resourceVersion: saved.resourceVersion },
      });
      if (enforced) await notify(tx, name);
      return saved;
    });
  }

  /** The spec a merge patch would produce, without saving it: the input of a plan. */
  async preview(name: string, body: unknown, what = 'changes'): Promise<{ tenant: TenantEntity; next: TenantSpec }> {
    const patch = parseTenantPatch(body);
    const tenant = await this.getAccepting(name, what);
    const current: TenantSpec = { displayName: tenant.displayName, quota: tenant.quota, nodes: tenant.nodes, suspended: tenant.suspended };
    return { tenant, next: parseSpec(applyMergePatch(current, patch) as Record<string, unknown>) };
  }

  /**
   * Marks the tenant Terminating. Agents tear down its cgroups and namespaces and then finish the
   * deletion; while no live agent could host it there is nothing to tear down, and the row becomes a
   * tombstone at once, its blocks in quarantine for the quarantine release (which frees them at once when no
   * node ever confirmed hosting it). The ledger and the audit keep its id.
   */
  async remove(name: string, ifMatch: string | undefined, actor: Actor): Promise<TenantEntity> {
    let tombstoned = false;
    const removed = await this.db.transaction(async (tx) => {
      const tenant = await lockLive(tx, name);
      assertMatches(tenant, ifMatch);
      if (tenant.deletionRequestedAt === null) {
        const before = tenant.quota;
        tenant.deletionRequestedAt = new Date();
        tenant.generation += 1;
        tenant.resourceVersion += 1;
        await tx.getRepository(TenantEntity).save(tenant);
        await this.recordQuotaChange(tx, tenant, before, actor, null);
        await this.audit.record(tx, {
          actor: actor.principal,
          action: 'tenant.delete',
          target: `tenants/${name}`,
          requestId: actor.requestId,
          detail: { tenantId: tenant.id },
        });
        await notify(tx, name);
      }
      const alive = await this.nodes.alive(tx);
      const hosts = tenant.nodes.length > 0 ? tenant.nodes.filter((node) => alive.includes(node)) : alive;
      if (hosts.length === 0) {
        await tx.getRepository(TenantEntity).update({ id: tenant.id }, { deletedAt: new Date() });
        await quarantineTenant(tx, tenant.id);
        tombstoned = true;
      }
      return tenant;
    });
    if (tombstoned) this.quarantine.kick();
    return removed;
  }

  /** The quota ledger of a live tenant, newest first; the cursor is the id of the last entry seen. */
  async history(name: string, limit: number, cursor: unknown): Promise<Page<LedgerEntryView>> {
    const tenant = await this.get(name);
    const before = decodeCursor(cursor, (key) => /^[1-9]\d{0,18}$/.test(key));
    const query = this.db
      .getRepository(QuotaLedgerEntity)
      .createQueryBuilder('l')
      .where('l.tenant_id = :id', { id: tenant.id })
      .orderBy('l.id', 'DESC')
      .take(limit + 1);
    if (before) query.andWhere('l.id < :before', { before });
    const rows = await query.getMany();
    return toPage(
      rows.map((row) => ({
        id: row.id,
        at: row.at.toISOString(),
        actor: row.actor,
        generation: row.generation,
        before: row.before,
        after: row.after,
        requestId: row.requestId,
      })),
      limit,
      (entry) => entry.id,
    );
  }

  private async recordQuotaChange(
    tx: EntityManager,
    tenant: TenantEntity,
    before: TenantEntity['quota'] | null,
    actor: Actor,
    after: TenantEntity['quota'] | null = tenant.quota,
  ): Promise<void> {
    await tx.insert(QuotaLedgerEntity, {
      tenantId: tenant.id,
      tenantName: tenant.name,
      actor: actorOf(actor.principal),
      before,
      after,
      generation: tenant.generation,
      requestId: actor.requestId ?? null,
    });
  }
}

async function lockLive(tx: EntityManager, name: string): Promise<TenantEntity> {
  const tenant = await tx.getRepository(TenantEntity).findOne({ where: { name, deletedAt: IsNull() }, lock: { mode: 'pessimistic_write' } });
  if (!tenant) throw TenantException.notFound(name);
  return tenant;
}

/**
 * Deletion marks a tenant Terminating (deletionRequestedAt) while agents tear it down. Work started then
 * would race the teardown, and a change would bump a generation no agent will ever apply.
 */
export function assertAccepting(tenant: TenantEntity, what: string): void {
  if (tenant.deletionRequestedAt === null) return;
  throw new TenantException(
    TenantExceptionCode.TERMINATING,
    `tenant ${JSON.stringify(tenant.name)} is in phase Terminating (deletion requested at ${tenant.deletionRequestedAt.toISOString()}) and takes no ${what}; ` +
      `only reads and revoking its keys are allowed until GET /v1/tenants/${tenant.name} answers 404`,
  );
}

function conflictWith(existing: TenantEntity): TenantException {
  return existing.deletionRequestedAt
    ? new TenantException(
        TenantExceptionCode.TERMINATING,
        `tenant ${JSON.stringify(existing.name)} is being deleted; create it again once GET /v1/tenants/${existing.name} answers 404`,
      )
    : new TenantException(TenantExceptionCode.ALREADY_EXISTS, `a tenant named ${JSON.stringify(existing.name)} exists; choose another name`);
}

/**
 * If-Match is optional. When given, it must name the current resourceVersion as a strong ETag ("7"), or
 * be "*"; anything else means the client's copy is stale.
 */
function assertMatches(tenant: TenantEntity, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(',').map((tag) => tag.trim());
  if (tags.includes('*') || tags.includes(etagOf(tenant))) return;
  throw new TenantException(
    TenantExceptionCode.STALE,
    `If-Match ${ifMatch} does not match the current version ${etagOf(tenant)}; GET the tenant again and reapply your change`,
  );
}

export function etagOf(tenant: TenantEntity): string {
  return `"${tenant.resourceVersion}"`;
}

async function notify(tx: EntityManager, name: string): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, name]);
}
