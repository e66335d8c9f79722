import { parseQuota } from '../../../../libs/domain/src/quota';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import type { TenantDto, TenantStatusDto } from './dto/tenant.dto';

/** The API form of a tenant. The stored quota is re-canonicalised because jsonb does not keep key order. */
export function toTenantView(tenant: TenantEntity): TenantDto {
  return {
    id: tenant.id,
    name: tenant.name,
    displayName: tenant.displayName,
    quota: parseQuota(tenant.quota, 'quota'),
    nodes: tenant.nodes,
    suspended: tenant.suspended,
    generation: tenant.generation,
    resourceVersion: tenant.resourceVersion,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
    status: statusOf(tenant),
  };
}

function statusOf(tenant: TenantEntity): TenantStatusDto {
  const terminating = tenant.deletionRequestedAt !== null;
  return {
    observedGeneration: 0,
    phase: terminating ? 'Terminating' : 'Pending',
    conditions: [
      terminating
        ? { type: 'Terminating', status: 'True', reason: 'DeletionRequested', message: `deletion requested at ${tenant.deletionRequestedAt?.toISOString()}` }
        : { type: 'Reconciled', status: 'False', reason: 'NoAgent', message: 'no agent has applied this tenant yet' },
    ],
    nodes: [],
    cgroupPath: null,
    uidRange: null,
    gidRange: null,
    network: null,
  };
}
