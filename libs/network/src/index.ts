export { inNetns, must, NetworkCommandError, run } from './command';
export { ensureFirewall, ensureForwarding, FIREWALL_TABLE, removeFirewall, renderFirewall, type FirewallTenant } from './firewall';
export { ID_RANGE_SIZE, TenantNamespaces, type NamespaceKernel, type TenantNamespacePaths } from './namespaces';
export { ensureShaping, parseTcRate } from './shaping';
export { applyTenantNetwork, removeTenantNetwork, type TenantAddressing, type TenantNetworkResult } from './tenant-network';
export { ensureLink, hostInterfaceName, linkCounters, removeLink, TENANT_INTERFACE, type LinkCounters, type TenantLinkSpec } from './tenant-link';
export { embedIpv4, embeddedPrefixLength, parseIpv6Prefix, tenantIpv6 } from './ipv6';
