import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { TenantEntity, TenantKeyEntity } from '../../../../libs/persistence/src/entities';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { AuditService } from '../audit/audit.service';
import { actorOf, type Principal } from '../auth/principal';
import { issueToken, lookupIdOf, tokenMatches } from '../auth/token';
import { assertAccepting, TenantsService } from '../tenants/tenants.service';
import { TenantKeyException, TenantKeyExceptionCode } from './tenant-key.exception';
import type { CreateTenantKeyInput } from './tenant-key.request';

export interface TenantKeyView {
  id: string;
  name: string;
  /** the public start of the key (gvt_<lookup id>), to tell keys apart; never the secret */
  prefix: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** last_used_at is written at most this often per key, so that authentication rarely writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Tenant API keys: issued by admins, shown once, stored as hashes, reaching /v1/me only. */
@Injectable()
export class TenantKeysService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  /** The tenant principal of a live, unexpired key of a live tenant, or undefined. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const lookupId = lookupIdOf(token, 'gvt');
    if (lookupId === undefined) return undefined;
    const row = await this.db.getRepository(TenantKeyEntity).findOne({ where: { lookupId, revokedAt: IsNull() }, relations: { tenant: true } });
    if (!row || !row.tenant || row.tenant.deletedAt !== null || !tokenMatches(token, row.secretHash)) return undefined;
    if (row.expiresAt !== null && row.expiresAt.getTime() <= Date.now()) return undefined;
    if (row.lastUsedAt === null || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.db.getRepository(TenantKeyEntity).update({ id: row.id }, { lastUsedAt: new Date() });
    }
    return { kind: 'tenant', keyId: row.id, tenantId: row.tenantId, tenantName: row.tenant.name };
  }

  async create(tenantName: string, input: CreateTenantKeyInput, actor: Actor): Promise<TenantKeyView & { key: string }> {
    const tenant = await this.tenants.getAccepting(tenantName, 'new keys');
    const issued = issueToken('gvt');
    return this.db.transaction(async (tx) => {
      const repo = tx.getRepository(TenantKeyEntity);
      // One live key per name and tenant, checked under the tenant's row lock.
      const locked = await tx.getRepository(TenantEntity).findOne({ where: { id: tenant.id }, lock: { mode: 'pessimistic_write' } });
      if (locked) assertAccepting(locked, 'new keys');
      if (await repo.existsBy({ tenantId: tenant.id, name: input.name, revokedAt: IsNull() })) {
        throw new TenantKeyException(
          TenantKeyExceptionCode.NAME_TAKEN,
          `tenant ${tenantName} has a live key named ${JSON.stringify(input.name)}; revoke it first or choose another name`,
        );
      }
      const row = await repo.save(
        repo.create({
          tenantId: tenant.id,
          name: input.name,
          lookupId: issued.lookupId,
          secretHash: issued.secretHash,
          createdBy: actorOf(actor.principal),
          expiresAt: input.expiresAt,
        }),
      );
      await this.audit.record(tx, {
        actor: actor.principal,
        action: 'tenant-key.create',
        target: `tenants/${tenantName}/keys/${row.id}`,
        requestId: actor.requestId,
        detail: { name: row.name, expiresAt: row.expiresAt },
      });
      return { ...view(row), key: issued.token };
    });
  }

  /** Every key of the tenant, revoked and expired ones too (never a secret), newest first. */
  async list(tenantName: string): Promise<TenantKeyView[]> {
    const tenant = await this.tenants.get(tenantName);
    const rows = await this.db.getRepository(TenantKeyEntity).find({ where: { tenantId: tenant.id }, order: { createdAt: 'DESC' }, take: 500 });
    return rows.map(view);
  }

  async revoke(tenantName: string, id: string, actor: Actor): Promise<void> {
    const tenant = await this.tenants.get(tenantName);
    await this.db.transaction(async (tx) => {
      const repo = tx.getRepository(TenantKeyEntity);
      const row = /^[0-9a-f-]{36}$/.test(id) ? await repo.findOneBy({ id, tenantId: tenant.id, revokedAt: IsNull() }) : null;
      if (!row) {
        throw new TenantKeyException(
          TenantKeyExceptionCode.NOT_FOUND,
          `tenant ${tenantName} has no live key with id ${JSON.stringify(id)}; GET /v1/tenants/${tenantName}/keys lists them`,
        );
      }
      await repo.update({ id }, { revokedAt: new Date() });
      await this.audit.record(tx, {
        actor: actor.principal,
        action: 'tenant-key.revoke',
        target: `tenants/${tenantName}/keys/${id}`,
        requestId: actor.requestId,
        detail: { name: row.name },
      });
    });
  }
}

function view(row: TenantKeyEntity): TenantKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: `gvt_${row.lookupId}`,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
