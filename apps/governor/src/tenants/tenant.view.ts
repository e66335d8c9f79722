import { parseQuota } from '../../../../libs/domain/src/quota';
import { join } from 'node:path';
import { tenantIpv6 } from '../../../../libs/network/src/ipv6';
import { hostInterfaceName } from '../../../../libs/network/src/tenant-link';
import type { TenantAllocation } from '../../../../libs/persistence/src/allocation';
import type { TenantEntity, TenantStatusEntity } from '../../../../libs/persistence/src/entities';
import type { ConditionDto, TenantDto, TenantStatusDto } from './dto/tenant.dto';

/** The API form of a tenant. The stored quota is re-canonicalised because jsonb does not keep key order. */
export interface TenantFacts {
  statuses?: TenantStatusEntity[];
  allocation?: TenantAllocation;
  /** GOVERNOR_RUN_DIR, where the namespaces are kept */
  runDir: string;
  /** GOVERNOR_NET6_PREFIX, when tenant links have IPv6 */
  net6Prefix?: number[];
}

export function toTenantView(tenant: TenantEntity, facts: TenantFacts): TenantDto {
  return {
    id: tenant.id,
    name: tenant.name,
    displayName: tenant.displayName,
    quota: parseQuota(tenant.quota, 'quota'),
    nodes: tenant.nodes,
    rootfs: tenant.rootfs,
    hostname: tenant.hostname ?? tenant.name,
    suspended: tenant.suspended,
    generation: tenant.generation,
    resourceVersion: tenant.resourceVersion,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
    status: statusOf(tenant, facts),
  };
}

/** One status across nodes: the oldest observed generation, the worst phase, every condition. */
function statusOf(tenant: TenantEntity, { statuses = [], allocation, runDir, net6Prefix }: TenantFacts): TenantStatusDto {
  const ipv6 = allocation && tenantIpv6(net6Prefix, allocation);
  const observedGeneration = statuses.length === 0 ? 0 : Math.min(...statuses.map((s) => s.observedGeneration));
  const conditions: ConditionDto[] = statuses.flatMap((s) => s.conditions.map((c) => (statuses.length > 1 ? { ...c, message: `${s.node}: ${c.message}` } : c)));
  let phase: string;
  if (tenant.deletionRequestedAt !== null) {
    phase = 'Terminating';
    conditions.unshift({
      type: 'Terminating',
      status: 'True',
      reason: 'DeletionRequested',
      message: `deletion requested at ${tenant.deletionRequestedAt.toISOString()}`,
    });
  } else if (statuses.length === 0) {
    phase = 'Pending';
    conditions.push({ type: 'Reconciled', status: 'False', reason: 'NoAgent', message: 'no agent has applied this tenant yet' });
  } else if (statuses.some((s) => s.phase === 'Error')) {
    phase = 'Error';
  } else if (observedGeneration < tenant.generation) {
    phase = 'Pending';
  } else if (statuses.some((s) => s.phase === 'Degraded')) {
    phase = 'Degraded';
  } else {
    phase = tenant.suspended ? 'Suspended' : 'Ready';
  }
  return {
    observedGeneration,
    phase,
    conditions,
    nodes: statuses.map((s) => ({
      node: s.node,
      observedGeneration: s.observedGeneration,
      phase: s.phase,
      conditions: s.conditions,
      cgroupPath: s.cgroupPath,
      isolation: s.isolation,
      updatedAt: s.updatedAt.toISOString(),
    })),
    isolation: statuses[0]?.isolation ?? null,
    cgroupPath: statuses[0]?.cgroupPath ?? null,
    uidRange: allocation ? allocation.uidRange : null,
    gidRange: allocation ? allocation.uidRange : null,
    network: allocation
      ? {
          namespace: join(runDir, 'ns', tenant.name, 'net'),
          hostInterface: hostInterfaceName(tenant.id),
          address: allocation.tenantAddress,
          gateway: allocation.hostAddress,
          ...(ipv6 && { address6: ipv6.tenantAddress, gateway6: ipv6.hostAddress }),
        }
      : null,
  };
}
