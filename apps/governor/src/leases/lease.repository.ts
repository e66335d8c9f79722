import { Inject, Injectable } from '@nestjs/common';
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { DATABASE_URL } from '../database/database.module';

/** pg_try_advisory_lock(int4, int4) namespace of the fleet leases ("gv" 3), apart from allocation's 1 and 2 */
export const LEASE_LOCK = 0x67760003;

/** One database session that holds advisory locks; they end with it, whoever ends it. */
export interface LeaseSession {
  /** takes the job's lock if no other session holds it, and then raises the job's fencing token; undefined when another holds it */
  tryTake(job: string, holder: string): Promise<number | undefined>;
  /** whether the session is still connected, as far as this process knows */
  readonly open: boolean;
  close(): Promise<void>;
}

/**
 * The SQL of the fleet leases. The lock lives on a session of its own, so that it ends when that session
 * ends (the process died, or its backend was terminated) and not when a pooled connection is recycled.
 */
@Injectable()
export class LeaseRepository {
  constructor(@Inject(DATABASE_URL) private readonly url: string) {}

  async openSession(onLost: (err: Error | undefined) => void): Promise<LeaseSession> {
    const client = new Client({ connectionString: this.url, application_name: 'governor-lease' });
    let open = true;
    const lost = (err: Error | undefined) => {
      if (!open) return;
      open = false;
      onLost(err);
    };
    client.on('error', (err) => lost(err));
    client.on('end', () => lost(undefined));
    await client.connect();
    return {
      get open() {
        return open;
      },
      tryTake: async (job, holder) => {
        const [{ locked }] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS locked', [LEASE_LOCK, job])).rows;
        if (!locked) return undefined;
        const [{ token }] = (
          await client.query<{ token: string }>(
            `INSERT INTO fleet_leases (name, token, holder, acquired_at) VALUES ($1, 1, $2, now())
             ON CONFLICT (name) DO UPDATE SET token = fleet_leases.token + 1, holder = $2, acquired_at = now()
             RETURNING token`,
            [job, holder],
          )
        ).rows;
        return Number(token);
      },
      close: async () => {
        open = false;
        await client.end().catch(() => undefined);
      },
    };
  }

  /**
   * The job's current token, read FOR SHARE inside the caller's transaction: a takeover's UPDATE of the row
   * waits until that transaction ends, so an action either commits under the token it checked or not at all.
   */
  async currentToken(tx: EntityManager, job: string): Promise<number | undefined> {
    const rows = await tx.query<Array<{ token: string }>>('SELECT token FROM fleet_leases WHERE name = $1 FOR SHARE', [job]);
    return rows.length === 0 ? undefined : Number(rows[0].token);
  }
}
