import type { Response } from 'supertest';
import type { Quota } from '../../libs/domain/src';
import type { TenantDto } from '../../apps/governor/src/tenants/dto/tenant.dto';
import type { QuotaRequest as PortalQuotaRequest } from '../../apps/portal/src/api-types';

export type { Problem } from '../../apps/governor/src/common/problem';
export type { WorkloadDto as Workload } from '../../apps/governor/src/workloads/dto/workload.dto';
import type { TenantKeyView } from '../../apps/governor/src/tenant-keys/tenant-keys.service';
import type { AdminTokenView } from '../../apps/governor/src/admin-tokens/admin-tokens.service';
export type { AuditEntryView as AuditEntry } from '../../apps/governor/src/audit/audit.service';
export type { NodeView } from '../../apps/governor/src/nodes/nodes.service';
export type { TenantEventView as TenantEvent } from '../../apps/governor/src/tenant-events/tenant-events.service';
export type { LedgerEntryView as LedgerEntry } from '../../apps/governor/src/tenants/tenants.service';
export type { Usage } from '../../apps/portal/src/api-types';

/** A tenant as the API shows it, with its quota in the canonical form. */
export type Tenant = Omit<TenantDto, 'quota'> & { quota: Quota };

/** A quota request, with its patch and the quota its plan would set in the canonical form. */
export type QuotaRequest = Omit<PortalQuotaRequest, 'quota' | 'plan'> & {
  quota: Quota;
  plan: (Omit<NonNullable<PortalQuotaRequest['plan']>, 'quota'> & { quota: Quota }) | null;
};

export type TenantKey = TenantKeyView;
export type AdminToken = AdminTokenView;
/** A key as issued: the only time its secret is shown. */
export type IssuedKey = TenantKeyView & { key: string };

/** An admin token as issued: the only time its secret is shown. */
export type IssuedAdminToken = AdminTokenView & { token: string };

/** GET /readyz: each check and its outcome. */
export interface Readiness {
  status: string;
  checks: Record<string, string>;
}

/** What applying a quota would write on each node (POST /v1/tenants/{name}/plan, a quota request's plan). */
export type Plan = NonNullable<QuotaRequest['plan']>;

export interface Items<T> {
  items: T[];
}

/**
 * A supertest response with the body the API documents for it. supertest types every body as any; the
 * harness checks each JSON body it saw against the served OpenAPI document when it closes, so these types
 * are held to what the server sends.
 */
export type Reply<T> = Omit<Response, 'body'> & { body: T };

/** The body of a response, as the type the API documents for it (see Reply). */
export function bodyOf<T>(res: { body: unknown }): T {
  return res.body as T;
}
