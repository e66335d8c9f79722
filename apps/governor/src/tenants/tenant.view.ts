import { parseQuota } from '../../../../libs/domain/src/quota';
import { join } from 'node:path';
import { tenantIpv6 } from '../../../../libs/network/src/ipv6';
import { hostInterfaceName } from '../../../../libs/network/src/tenant-link';
import type { TenantAllocation } from '../../../../libs/persistence/src/allocation';
import type { TenantEntity, TenantStatusEntity } from '../../../../libs/persistence/src/entities';
import type { ConditionDto, TenantDto, TenantStatusDto } from './dto/tenant.dto';
import { type NodeReadiness, targetNodes } from '../nodes/node-readiness';

/** The API form of a tenant. The stored quota is re-canonicalised because jsonb does not keep key order. */
export interface TenantFacts {
  statuses?: TenantStatusEntity[];
  /** every registered node and whether it is Ready: the tenant's placement is judged against it */
  fleet?: NodeReadiness[];
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

/**
 * One status across the nodes the tenant is placed on (those it lists, or every node that is not gone): the
 * oldest observed generation, the worst phase, every condition. Ready only when every target node is Ready
 * and has applied the current generation; a NotReady node or one with no agent says so in a condition.
 */
function statusOf(tenant: TenantEntity, { statuses: all = [], fleet = [], allocation, runDir, net6Prefix }: TenantFacts): TenantStatusDto {
  const ipv6 = allocation && tenantIpv6(net6Prefix, allocation);
  const targets = targetNodes(tenant.nodes, fleet);
  // A status left by a node the tenant no longer lives on is that node's to remove; it does not make the phase.
  const statuses = all.filter((s) => targets.includes(s.node) || tenant.deletionRequestedAt !== null);
  const observedGeneration = targets.length === 0 ? 0 : Math.min(...targets.map((node) => statuses.find((s) => s.node === node)?.observedGeneration ?? 0));
  const conditions: ConditionDto[] = statuses.flatMap((s) => s.conditions.map((c) => (targets.length > 1 ? { ...c, message: `${s.node}: ${c.message}` } : c)));
  const unknown = targets.filter((node) => !fleet.some((n) => n.name === node));
  const notReady = fleet.filter((n) => targets.includes(n.name) && !n.ready);
  for (const node of unknown) {
    conditions.push({
      type: 'NodeReady',
      status: 'False',
      reason: 'NodeUnknown',
      message: `node ${node} has no agent registered; the tenant is not applied there`,
    });
  }
  for (const node of notReady) {
    conditions.push({
      type: 'NodeReady',
      status: 'False',
      reason: 'NodeNotReady',
      message: `node ${node.name} is NotReady (last heartbeat ${node.heartbeatAt.toISOString()}): what its agent last applied is not known to hold`,
    });
  }
  let phase: string;
  if (tenant.deletionRequestedAt !== null) {
    phase = 'Terminating';
    conditions.unshift({
      type: 'Terminating',
      status: 'True',
      reason: 'DeletionRequested',
      message: `deletion requested at ${tenant.deletionRequestedAt.toISOString()}`,
    });
  } else if (statuses.length === 0 && unknown.length === targets.length) {
    phase = 'Pending';
    conditions.push({ type: 'Reconciled', status: 'False', reason: 'NoAgent', message: 'no agent has applied this tenant yet' });
  } else if (statuses.some((s) => s.phase === 'Error')) {
    phase = 'Error';
  } else if (observedGeneration < tenant.generation || unknown.length > 0) {
    phase = 'Pending';
  } else if (statuses.some((s) => s.phase === 'Degraded') || notReady.length > 0) {
    phase = 'Degraded';
  } else {
    phase = tenant.suspended ? 'Suspended' : 'Ready';
  }
  return {
    observedGeneration,
    phase,
    conditions,
    nodes: all.map((s) => ({
      node: s.node,
      ready: fleet.find((n) => n.name === s.node)?.ready ?? false,
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
