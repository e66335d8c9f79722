import { Logger } from '@nestjs/common';
import { ensureForwarding, type FirewallOutcome, type FirewallTenant, TenantFirewall } from '../../../../libs/network/src';
import type { HostAccess } from '../host/host.access';
import type { GovernorMetrics } from '../metrics/governor.metrics';
import type { FirewallReport, FirewallTable } from './firewall-sync';

/** The host's table, made on first use: libnftables is loaded only by a governor that applies it. */
export function hostFirewallTable(table: string): FirewallTable {
  let firewall: TenantFirewall | undefined;
  return { ensure: (tenants) => (firewall ??= new TenantFirewall(table)).ensure(tenants) };
}

/**
 * What an apply of the table means outside it: a hand edit is drift like a hand edit of a cgroup file,
 * counted per tenant it touched; forwarding goes on once a tenant may reach the outside; a table that
 * cannot be applied makes /readyz fail with the reason.
 */
export class FirewallLog implements FirewallReport {
  private readonly logger = new Logger('reconciler');

  constructor(
    private readonly host: HostAccess,
    private readonly metrics: GovernorMetrics,
  ) {}

  async applied(outcome: FirewallOutcome, tenants: readonly FirewallTenant[], drifted: readonly string[]): Promise<void> {
    if (outcome.drift.length > 0) this.logger.warn({ tenants: tenants.length, drift: outcome.drift }, 'firewall table repaired: it had been changed by hand');
    else if (outcome.written) this.logger.log({ tenants: tenants.length }, 'firewall table changed');
    for (const tenant of drifted) this.metrics.driftCorrections.inc({ tenant, file: 'nftables' });
    for (const change of await ensureForwarding(tenants)) this.logger.warn({ change }, 'turned on IP forwarding for tenants that may reach the outside');
  }

  failed(message: string | undefined): void {
    this.host.reportFirewall(message);
  }
}
