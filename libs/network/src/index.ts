export { inNetns, must, NetworkCommandError, run } from './command';
export { ensureFirewall, FIREWALL_TABLE, removeFirewall, renderFirewall, type FirewallTenant } from './firewall';
export { ensureShaping, parseTcRate } from './shaping';
export { ensureLink, hostInterfaceName, linkCounters, removeLink, TENANT_INTERFACE, type LinkCounters, type TenantLinkSpec } from './tenant-link';
