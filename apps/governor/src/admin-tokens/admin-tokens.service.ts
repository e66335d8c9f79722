import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { AdminTokenEntity } from '../../../../libs/persistence/src/entities';
import { AuditService } from '../audit/audit.service';
import { CREDENTIALS_CHANNEL, CredentialCache } from '../auth/credential.cache';
import { type Principal } from '../auth/principal';
import { hashToken, issueToken, lookupIdOf, tokenMatches } from '../auth/token';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { AdminTokenException, AdminTokenExceptionCode } from './admin-token.exception';
import type { CreateAdminTokenInput } from './admin-token.request';

export const ROOT_TOKEN_NAME = 'root';
/** The row of a root token that came from GOVERNOR_ADMIN_TOKEN, whose format is the operator's choice. */
const ENV_ROOT_LOOKUP_ID = 'env-root';

export interface AdminTokenView {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
}

export interface Actor {
  principal: Principal;
  requestId: string | undefined;
}

@Injectable()
export class AdminTokensService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
    private readonly verified: CredentialCache,
  ) {}

  async authenticate(token: string): Promise<Principal | undefined> {
    const key = hashToken(token).toString('base64');
    const known = this.verified.lookup(key);
    if (known !== undefined) return known;
    const epoch = this.verified.epoch;
    const repo = this.db.getRepository(AdminTokenEntity);
    const lookupId = lookupIdOf(token, 'gva') ?? ENV_ROOT_LOOKUP_ID;
    const row = await repo.findOneBy({ lookupId, revokedAt: IsNull() });
    if (!row || !tokenMatches(token, row.secretHash)) return undefined;
    if (row.expiresAt !== null && row.expiresAt.getTime() <= Date.now()) return undefined;
    const principal: Principal = { kind: 'admin', tokenId: row.id, name: row.name };
    this.verified.remember(key, principal, row.expiresAt, epoch);
    return principal;
  }

  async create(input: CreateAdminTokenInput, actor: Actor): Promise<AdminTokenView & { token: string }> {
    const issued = issueToken('gva');
    return this.db.transaction(async (tx) => {
      const repo = tx.getRepository(AdminTokenEntity);
      if (await repo.existsBy({ name: input.name, revokedAt: IsNull() })) {
        throw new AdminTokenException(
          AdminTokenExceptionCode.NAME_TAKEN,
          `an admin token named ${JSON.stringify(input.name)} exists; revoke it first or choose another name`,
        );
      }
      const row = await repo.save(
        repo.create({
          name: input.name,
          lookupId: issued.lookupId,
          secretHash: issued.secretHash,
          createdBy: actor.principal.kind === 'admin' ? actor.principal.name : null,
          expiresAt: input.expiresAt ?? null,
        }),
      );
      await this.audit.record(tx, {
        actor: actor.principal,
        action: 'admin-token.create',
        target: `admin-tokens/${row.name}`,
        requestId: actor.requestId,
        detail: { id: row.id, expiresAt: row.expiresAt },
      });
      return { ...view(row), token: issued.token };
    });
  }

  async list(): Promise<AdminTokenView[]> {
    const rows = await this.db.getRepository(AdminTokenEntity).find({ where: { revokedAt: IsNull() }, order: { name: 'ASC' } });
    return rows.map(view);
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const repo = tx.getRepository(AdminTokenEntity);
      const row = /^[0-9a-f-]{36}$/.test(id) ? await repo.findOneBy({ id, revokedAt: IsNull() }) : null;
      if (!row)
        throw new AdminTokenException(AdminTokenExceptionCode.NOT_FOUND, `no live admin token has id ${JSON.stringify(id)}; GET /v1/admin-tokens lists them`);
      if (row.name === ROOT_TOKEN_NAME) {
        throw new AdminTokenException(
          AdminTokenExceptionCode.ROOT_PROTECTED,
          'the root token cannot be revoked through the API; rotate it by setting GOVERNOR_ADMIN_TOKEN and restarting',
        );
      }
      await repo.update({ id }, { revokedAt: new Date() });
      await announceRevocation(tx, id);
      await this.audit.record(tx, {
        actor: actor.principal,
        action: 'admin-token.revoke',
        target: `admin-tokens/${row.name}`,
        requestId: actor.requestId,
        detail: { id },
      });
    });
    this.verified.forgetAll();
  }

  /**
   * Makes sure a root token exists. With GOVERNOR_ADMIN_TOKEN set, the root row holds its hash (and is
   * replaced when the variable changes). Without it, a token is generated once, at first start, handed
   * to `keep` inside the transaction, and returned so that the caller can show it to the operator; later
   * starts return undefined. When `keep` fails the row is not committed, so no token exists that nobody
   * knows: the next start generates another.
   */
  async ensureRoot(keep: (token: string) => Promise<void>): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
      const repo = tx.getRepository(AdminTokenEntity);
      await tx.query('SELECT pg_advisory_xact_lock($1)', [0x726f6f74]); // "root": replicas starting together
      const live = await repo.findOneBy({ name: ROOT_TOKEN_NAME, revokedAt: IsNull() });
      const fromEnv = this.config.adminToken;
      if (fromEnv !== undefined) {
        if (live && tokenMatches(fromEnv, live.secretHash)) return undefined;
        // The variable changed (or replaces a generated root): the old root stops working.
        if (live) {
          await repo.update({ id: live.id }, { revokedAt: new Date() });
          await announceRevocation(tx, live.id);
          this.verified.forgetAll();
        }
        await repo.save(
          repo.create({ name: ROOT_TOKEN_NAME, lookupId: ENV_ROOT_LOOKUP_ID, secretHash: hashToken(fromEnv), createdBy: 'GOVERNOR_ADMIN_TOKEN' }),
        );
        return undefined;
      }
      if (live) return undefined;
      const issued = issueToken('gva');
      await repo.save(repo.create({ name: ROOT_TOKEN_NAME, lookupId: issued.lookupId, secretHash: issued.secretHash, createdBy: 'bootstrap' }));
      await keep(issued.token);
      return issued.token;
    });
  }
}

function view(row: AdminTokenEntity): AdminTokenView {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    expiresAt: row.expiresAt?.toISOString() ?? null,
  };
}

/** Every replica's CredentialCache forgets what it verified when this transaction commits (NOTIFY waits for it). */
async function announceRevocation(tx: EntityManager, tokenId: string): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [CREDENTIALS_CHANNEL, tokenId]);
}
