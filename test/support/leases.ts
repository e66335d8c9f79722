import { LEASE_LOCK } from '../../apps/governor/src/leases/lease.repository';
import type { TestGovernor } from './governor.harness';

/**
 * The backends (pids) holding the advisory lock of a fleet job's lease, in the test governor's database:
 * pg_try_advisory_lock(int4, int4) shows as classid, objid and objsubid 2 in pg_locks.
 */
export async function leaseBackends(gov: Pick<TestGovernor, 'query'>, job: string): Promise<number[]> {
  const rows = await gov.query<{ pid: number }>(
    `SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND classid = $1 AND objid = hashtext($2)::oid AND objsubid = 2 AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LEASE_LOCK, job],
  );
  return rows.map((row) => row.pid);
}
