import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

/**
 * Waits until PostgreSQL at `url` answers a query, for as long as it takes: a governor started while its
 * database is away (a reboot that brings both up in any order, a failover) waits instead of exiting.
 * `onWait` hears each failure with the next delay (1 s, doubling to 10 s).
 */
export async function waitForDatabase(url: string, onWait: (err: Error, attempt: number, delayMs: number) => void, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const client = new Client({ connectionString: url, application_name: 'governor', connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      const delayMs = Math.min(10_000, 1000 * 2 ** Math.min(attempt - 1, 4));
      onWait(err as Error, attempt, delayMs);
      await sleep(delayMs, undefined, { signal });
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
