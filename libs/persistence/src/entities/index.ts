import { AdminTokenEntity } from './admin-token.entity';
import { AuditEntryEntity } from './audit-entry.entity';
import { FleetLeaseEntity } from './fleet-lease.entity';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { NodeEntity } from './node.entity';
import { QuotaRequestEntity } from './quota-request.entity';
import { QuotaLedgerEntity } from './quota-ledger.entity';
import { TenantAllocationEntity } from './tenant-allocation.entity';
import { TenantEventEntity } from './tenant-event.entity';
import { TenantKeyEntity } from './tenant-key.entity';
import { TenantStatusEntity } from './tenant-status.entity';
export type { TenantIsolationStatus } from './tenant-status.entity';
import { TenantEntity } from './tenant.entity';
import { WorkloadEntity } from './workload.entity';

export {
  AdminTokenEntity,
  AuditEntryEntity,
  FleetLeaseEntity,
  IdempotencyKeyEntity,
  NodeEntity,
  QuotaLedgerEntity,
  QuotaRequestEntity,
  TenantAllocationEntity,
  TenantEntity,
  TenantEventEntity,
  TenantKeyEntity,
  TenantStatusEntity,
  WorkloadEntity,
};
export const ENTITIES = [
  TenantEntity,
  QuotaLedgerEntity,
  AuditEntryEntity,
  AdminTokenEntity,
  TenantStatusEntity,
  NodeEntity,
  WorkloadEntity,
  TenantAllocationEntity,
  TenantKeyEntity,
  QuotaRequestEntity,
  TenantEventEntity,
  IdempotencyKeyEntity,
  FleetLeaseEntity,
];
