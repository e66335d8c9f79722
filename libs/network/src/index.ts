export { inNetns, must, NetworkCommandError, run } from './command';
export {
  diffListing,
  ensureForwarding,
  FIREWALL_TABLE,
  normaliseListing,
  removeFirewall,
  renderDelta,
  renderFirewall,
  renderTable,
  firewallModel,
  TenantFirewall,
  tenantsInDrift,
  type FirewallModel,
  type FirewallOutcome,
  type FirewallTenant,
} from './firewall';
export { Nftables, NftablesError } from './nftables';
export { ID_RANGE_SIZE, TenantNamespaces, type NamespaceKernel, type TenantNamespacePaths } from './namespaces';
export { ensureShaping } from './shaping';
export { applyTenantNetwork, firewallEntry, removeTenantNetwork, type TenantAddressing, type TenantNetworkResult } from './tenant-network';
export { NetworkObserver, parseNetworkView, type LinkView, type NetworkView } from './observe';
export {
  ensureLink,
  ensureLinkObserved,
  netlinkWrites,
  networkObserver,
  hostInterfaceName,
  linkCounters,
  removeLink,
  TENANT_INTERFACE,
  type LinkCounters,
  type LinkHooks,
  type TenantLinkSpec,
} from './tenant-link';
export { hostLinkCounters, parseNetDev } from './link-counters';
export { embedIpv4, embeddedPrefixLength, parseIpv6Prefix, tenantIpv6 } from './ipv6';
