import type { NetworkQuota } from '../../domain/src/quota.types';
import type { FirewallTenant } from './firewall';
import type { NamespaceOutcome, TenantNamespaces } from './namespaces';
import { ensureShaping } from './shaping';
import { ensureLinkObserved, hostInterfaceName, type LinkHooks, removeLink, type TenantLinkIpv6 } from './tenant-link';

/** A tenant's identity and addresses, as allocated in PostgreSQL. */
export interface TenantAddressing {
  uidBase: number;
  hostAddress: string;
  tenantAddress: string;
  prefix: number;
  /** both ends' IPv6 addresses, when IPv6 is configured for tenant links */
  ipv6?: TenantLinkIpv6;
}

export interface TenantNetworkResult {
  changes: string[];
  /** whether the user and network namespaces were there, made, or made after another tenant's were removed */
  namespaces: NamespaceOutcome;
  firewall: FirewallTenant;
  /**
   * The host end's ifindex and the id the host's namespace gives the tenant's, when nothing was changed (what
   * the kernel's change events name: the reconciler skips a tenant they do not name).
   */
  link?: { hostIndex: number; nsid: number };
}

/**
 * Brings one tenant's namespaces, link and bandwidth to the spec. Each step reads before it writes, so a
 * tenant in sync changes nothing; a deleted veth, a lost bind mount (after a reboot /run is empty) or a
 * changed tc rate is repaired and reported as a change.
 */
export async function applyTenantNetwork(
  namespaces: TenantNamespaces,
  tenant: string,
  tenantId: string,
  addressing: TenantAddressing,
  network: NetworkQuota | undefined,
  hooks: LinkHooks = {},
): Promise<TenantNetworkResult> {
  const changes: string[] = [];
  const made = await namespaces.ensure(tenant, { tenantId, uidBase: addressing.uidBase });
  if (made === 'created') changes.push(`created user and network namespaces under ${namespaces.dir(tenant)}`);
  if (made === 'replaced') changes.push(`replaced another tenant's user and network namespaces under ${namespaces.dir(tenant)}`);
  const hostInterface = hostInterfaceName(tenantId);
  const link = await ensureLinkObserved(
    {
      hostInterface,
      netnsPath: namespaces.paths(tenant).net,
      hostAddress: addressing.hostAddress,
      tenantAddress: addressing.tenantAddress,
      prefix: addressing.prefix,
      ingress: network?.ingress,
      egress: network?.egress,
      ipv6: addressing.ipv6,
    },
    undefined,
    hooks,
  );
  changes.push(...link.changes);
  // The host end as ensureLink read it, unless ensureLink changed it (then it is read again).
  changes.push(...(await ensureShaping(hostInterface, network?.ingress, network?.egress, link.changes.length === 0 ? link.host : undefined)));
  const watched = changes.length === 0 && link.host !== undefined ? { hostIndex: link.host.index, nsid: link.nsid } : undefined;
  return { changes, namespaces: made, firewall: firewallEntry(tenantId, addressing, network), link: watched };
}

/** What the firewall needs of one tenant: from its allocation and quota alone, so it is known before its link exists. */
export function firewallEntry(tenantId: string, addressing: Omit<TenantAddressing, 'uidBase' | 'prefix'>, network: NetworkQuota | undefined): FirewallTenant {
  return {
    hostInterface: hostInterfaceName(tenantId),
    hostAddress: addressing.hostAddress,
    tenantAddress: addressing.tenantAddress,
    ipv6: addressing.ipv6 && { hostAddress: addressing.ipv6.hostAddress, tenantAddress: addressing.ipv6.tenantAddress },
    outside: network?.outside === true,
  };
}

/** Removes the link (both ends) and the namespaces; what is already gone is done. */
export async function removeTenantNetwork(namespaces: TenantNamespaces, tenant: string, tenantId: string | undefined): Promise<void> {
  if (tenantId !== undefined) await removeLink(hostInterfaceName(tenantId));
  await namespaces.remove(tenant);
}
