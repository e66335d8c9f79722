import type { Fence } from '../leases/fleet-leases.service';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource, LessThan } from 'typeorm';
import { IdempotencyKeyEntity } from '../../../../libs/persistence/src/entities';
import { actorOf, type Principal } from '../auth/principal';
import { IdempotencyException, IdempotencyExceptionCode } from './idempotency.exception';
import { parseIdempotencyKey, requestFingerprint } from './idempotency.request';

/** How long a key is remembered (the retention job removes it afterwards). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Response headers a replay repeats. */
const REPLAYED_HEADERS = ['etag', 'location'];

export interface IdempotentRequest {
  /** the raw Idempotency-Key header */
  header: string | string[] | undefined;
  principal: Principal;
  /** e.g. `tenant.create`; with the caller, the scope a key is unique in */
  operation: string;
  /** what the request acts on (e.g. the tenant's name in the path), part of the fingerprint */
  target: string;
  body: unknown;
  /** the status a success answers with */
  status: number;
}

/**
 * Idempotency-Key for creates. The first request with a key claims it (a row without a status) before
 * it runs, so concurrent retries wait their turn with a 409 instead of creating twice; a success stores
 * its response, which a retry with the same request gets back; a failure releases the key so that the
 * retry runs again. A claim whose request never finished (the governor stopped mid-way) stays a 409
 * until it expires: its outcome is unknown, and running it again could create twice.
 */
@Injectable()
export class IdempotencyService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async run<T>(request: IdempotentRequest, res: Response, work: () => Promise<T>): Promise<T> {
    const key = parseIdempotencyKey(request.header);
    if (key === undefined) return work();
    const scope = `${actorOf(request.principal)} ${request.operation}`;
    const requestHash = requestFingerprint(request.target, request.body);
    const repo = this.db.getRepository(IdempotencyKeyEntity);

    // An expired key is as good as none: drop it so the claim below can succeed.
    await repo.delete({ scope, key, expiresAt: LessThan(new Date()) });
    const claimed = await this.db.query<unknown[]>(
      `INSERT INTO idempotency_keys (scope, key, request_hash, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING key`,
      [scope, key, requestHash, new Date(Date.now() + IDEMPOTENCY_TTL_MS)],
    );
    if (claimed.length === 0) return this.replay<T>(scope, key, requestHash, res);
    let result: T;
    try {
      result = await work();
    } catch (err) {
      await repo.delete({ scope, key });
      throw err;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = res.getHeader(name);
      if (typeof value === 'string') headers[name] = value;
    }
    await this.db.query(`UPDATE idempotency_keys SET status = $3, response = $4, headers = $5 WHERE scope = $1 AND key = $2`, [
      scope,
      key,
      request.status,
      JSON.stringify(result),
      JSON.stringify(headers),
    ]);
    return result;
  }

  private async replay<T>(scope: string, key: string, requestHash: string, res: Response): Promise<T> {
    const row = await this.db.getRepository(IdempotencyKeyEntity).findOneBy({ scope, key });
    if (row === null) {
      // Released by a failed first request between our claim and this read: the client may retry now.
      throw new IdempotencyException(IdempotencyExceptionCode.IN_PROGRESS, `a request with Idempotency-Key ${JSON.stringify(key)} just failed; retry it`);
    }
    if (row.requestHash !== requestHash) {
      throw new IdempotencyException(
        IdempotencyExceptionCode.REUSED,
        `Idempotency-Key ${JSON.stringify(key)} was first used with a different request (another body or target); ` +
          'send the same request to get its response again, or a new key for a new request',
      );
    }
    if (row.status === null) {
      throw new IdempotencyException(
        IdempotencyExceptionCode.IN_PROGRESS,
        `the first request with Idempotency-Key ${JSON.stringify(key)} (at ${row.createdAt.toISOString()}) is still being processed or did not finish; ` +
          'retry in a moment, and if this persists check whether it took effect before sending a new key',
      );
    }
    for (const [name, value] of Object.entries(row.headers)) res.setHeader(name, value);
    res.setHeader('Idempotent-Replayed', 'true');
    return row.response as T;
  }

  /** Forgets keys past their 24 hours; the retention job calls it. */
  async pruneExpired(fence: Fence): Promise<number> {
    return this.db.transaction(async (tx) => {
      await fence(tx);
      const result = await tx.getRepository(IdempotencyKeyEntity).delete({ expiresAt: LessThan(new Date()) });
      return result.affected ?? 0;
    });
  }
}
