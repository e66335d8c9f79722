import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { blockAddresses, type TenantAllocation } from '../../../../libs/persistence/src/allocation';
import { TenantEntity, type TenantIsolationStatus, type TenantStatusEntity } from '../../../../libs/persistence/src/entities';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import { type NodeReadiness, readinessOf } from '../nodes/node-readiness';
import { ReadCoalescer } from '../common/read-coalescer';

/** A live tenant with everything its API view shows, read together. */
export interface TenantRecord {
  tenant: TenantEntity;
  statuses: TenantStatusEntity[];
  allocation: TenantAllocation | undefined;
  fleet: NodeReadiness[];
}

/**
 * One statement for GET /v1/tenants/{name}: the rows of the names asked, each with its per-node statuses, its
 * allocation and the fleet's heartbeats (an uncorrelated subquery: PostgreSQL computes it once per statement).
 * It was five round trips per GET (token, tenant, statuses, allocation, nodes), and under load each round
 * trip's socket write and TypeORM's query building were most of the request's cost; the GETs of one turn of
 * the event loop now share one (see ReadCoalescer). Nothing is cached: every read sees what the last commit
 * left, whichever replica wrote it.
 */
const SELECT_TENANT_RECORDS = `
  SELECT t.id, t.name, t.display_name, t.quota, t.rootfs, t.hostname, t.nodes, t.suspended,
         t.generation::text AS generation, t.resource_version::text AS resource_version, t.force_generation::text AS force_generation,
         t.created_at, t.updated_at, t.deletion_requested_at, t.deleted_at,
         lower(a.uid_range)::text AS uid_start, (upper(a.uid_range) - lower(a.uid_range))::int AS uid_size, a.net_block::text AS net_block,
         (SELECT coalesce(json_agg(json_build_object(
                   'node', s.node, 'observedGeneration', s.observed_generation, 'phase', s.phase, 'conditions', s.conditions,
                   'cgroupPath', s.cgroup_path, 'isolation', s.isolation, 'updatedAt', s.updated_at) ORDER BY s.node), '[]'::json)
            FROM tenant_statuses s WHERE s.tenant_id = t.id) AS statuses,
         (SELECT coalesce(json_agg(json_build_object(
                   'name', n.name, 'heartbeatAt', n.heartbeat_at, 'heartbeatIntervalMs', n.heartbeat_interval_ms) ORDER BY n.name), '[]'::json)
            FROM nodes n) AS fleet
    FROM tenants t
    LEFT JOIN tenant_allocations a ON a.tenant_id = t.id
   WHERE t.name = ANY($1::text[]) AND t.deleted_at IS NULL`;

export interface TenantRecordRow {
  id: string;
  name: string;
  display_name: string | null;
  quota: TenantEntity['quota'];
  rootfs: string | null;
  hostname: string | null;
  nodes: string[];
  suspended: boolean;
  generation: string;
  resource_version: string;
  force_generation: string | null;
  created_at: Date;
  updated_at: Date;
  deletion_requested_at: Date | null;
  deleted_at: Date | null;
  uid_start: string | null;
  uid_size: number | null;
  net_block: string | null;
  /** json: timestamps arrive as ISO 8601 text, bigints as numbers */
  statuses: Array<{
    node: string;
    observedGeneration: number;
    phase: string;
    conditions: Condition[];
    cgroupPath: string | null;
    isolation: TenantIsolationStatus | null;
    updatedAt: string;
  }>;
  fleet: Array<{ name: string; heartbeatAt: string; heartbeatIntervalMs: number }>;
}

/**
 * The statement's name on each pooled connection: PostgreSQL parses and plans it once per connection, not
 * once per read (the three subqueries made planning a good part of the backend's work for each GET).
 */
const TENANT_RECORDS_STATEMENT = 'governor_tenant_records';
/**
 * The most names one statement reads. With 32 clients a turn rarely brings more than 32 GETs; the bound
 * keeps a burst's statement and its answer small.
 */
const MAX_NAMES_PER_READ = 64;

@Injectable()
export class TenantsRepository {
  private readonly pool: Pool;
  private readonly records = new ReadCoalescer<string, TenantRecord>((names) => this.findRecords(names), MAX_NAMES_PER_READ);

  constructor(@InjectDataSource() db: DataSource) {
    // TypeORM's own pool, queried directly: the read needs neither a query runner nor TypeORM's logging and
    // result mapping, which were most of the JavaScript a GET spent on its query.
    this.pool = (db.driver as PostgresDriver).master as Pool;
  }

  /** A live tenant's record, read in one statement with the other GETs of this turn of the event loop. */
  findRecord(name: string): Promise<TenantRecord | undefined> {
    return this.records.read(name);
  }

  /** The live tenants of these names, keyed by name; a name with no live tenant is absent. */
  async findRecords(names: string[]): Promise<Map<string, TenantRecord>> {
    const { rows } = await this.pool.query<TenantRecordRow>({ name: TENANT_RECORDS_STATEMENT, text: SELECT_TENANT_RECORDS, values: [names] });
    const now = Date.now();
    return new Map(rows.map((row) => [row.name, recordOf(row, now)]));
  }
}

/** The row as the entities TypeORM would have built, so the view code is the same for every read. */
export function recordOf(row: TenantRecordRow, now: number): TenantRecord {
  const tenant = Object.assign(new TenantEntity(), {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    quota: row.quota,
    rootfs: row.rootfs,
    hostname: row.hostname,
    nodes: row.nodes,
    suspended: row.suspended,
    generation: Number(row.generation),
    resourceVersion: Number(row.resource_version),
    forceGeneration: row.force_generation === null ? null : Number(row.force_generation),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletionRequestedAt: row.deletion_requested_at,
    deletedAt: row.deleted_at,
  });
  const statuses = row.statuses.map((s) => ({ ...s, tenantId: row.id, observedGeneration: Number(s.observedGeneration), updatedAt: new Date(s.updatedAt) }));
  const allocation =
    row.uid_start === null || row.uid_size === null || row.net_block === null
      ? undefined
      : { uidRange: { start: Number(row.uid_start), size: row.uid_size }, netBlock: row.net_block, ...blockAddresses(row.net_block) };
  const fleet = row.fleet.map((node) => readinessOf({ ...node, heartbeatAt: new Date(node.heartbeatAt) }, now));
  return { tenant, statuses, allocation, fleet };
}
