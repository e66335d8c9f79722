import { AdminTokenEntity } from './admin-token.entity';
import { AuditEntryEntity } from './audit-entry.entity';
import { NodeEntity } from './node.entity';
import { QuotaLedgerEntity } from './quota-ledger.entity';
import { TenantStatusEntity } from './tenant-status.entity';
import { TenantEntity } from './tenant.entity';

export { AdminTokenEntity, AuditEntryEntity, NodeEntity, QuotaLedgerEntity, TenantEntity, TenantStatusEntity };
export const ENTITIES = [TenantEntity, QuotaLedgerEntity, AuditEntryEntity, AdminTokenEntity, TenantStatusEntity, NodeEntity];
