import { AdminTokenEntity } from './admin-token.entity';
import { AuditEntryEntity } from './audit-entry.entity';
import { NodeEntity } from './node.entity';
import { QuotaLedgerEntity } from './quota-ledger.entity';
import { TenantAllocationEntity } from './tenant-allocation.entity';
import { TenantStatusEntity } from './tenant-status.entity';
import { TenantEntity } from './tenant.entity';
import { WorkloadEntity } from './workload.entity';

export { AdminTokenEntity, AuditEntryEntity, NodeEntity, QuotaLedgerEntity, TenantAllocationEntity, TenantEntity, TenantStatusEntity, WorkloadEntity };
export const ENTITIES = [
  TenantEntity,
  QuotaLedgerEntity,
  AuditEntryEntity,
  AdminTokenEntity,
  TenantStatusEntity,
  NodeEntity,
  WorkloadEntity,
  TenantAllocationEntity,
];
