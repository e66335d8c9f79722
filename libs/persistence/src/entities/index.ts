import { AdminTokenEntity } from './admin-token.entity';
import { AuditEntryEntity } from './audit-entry.entity';
import { QuotaLedgerEntity } from './quota-ledger.entity';
import { TenantEntity } from './tenant.entity';

export { AdminTokenEntity, AuditEntryEntity, QuotaLedgerEntity, TenantEntity };
export const ENTITIES = [TenantEntity, QuotaLedgerEntity, AuditEntryEntity, AdminTokenEntity];
