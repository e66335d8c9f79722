import { type Collector, type CollectorRun, type FamilyFactory, type HostView } from '../collector';
import type { MetricFamily } from '../metric-family';
import { type NetdevReader, parseNetdev } from '../netdev';

/**
 * Traffic of each tenant's link, from the tenant's side: what enters the tenant is what the host end of
 * its veth transmitted, and what leaves it is what the host end received. One read of /proc/net/dev
 * serves every tenant; a tenant without a link yet (or whose link is gone) has no series.
 */
export class NetworkCollector implements Collector {
  readonly name = 'network';
  readonly families: readonly MetricFamily[];
  private readonly receive: MetricFamily;
  private readonly transmit: MetricFamily;
  private readonly drops: MetricFamily;

  constructor(
    family: FamilyFactory,
    private readonly readNetdev: NetdevReader,
  ) {
    this.receive = family(
      'governor_tenant_network_receive_bytes_total',
      'Bytes into the tenant over its link: tx_bytes of the host end of its veth',
      'counter',
    );
    this.transmit = family(
      'governor_tenant_network_transmit_bytes_total',
      'Bytes out of the tenant over its link: rx_bytes of the host end of its veth',
      'counter',
    );
    this.drops = family(
      'governor_tenant_network_drops_total',
      'Packets dropped on the tenant link, both directions: the receive and transmit drop counts of the host end of its veth',
      'counter',
    );
    this.families = [this.receive, this.transmit, this.drops];
  }

  enabled(host: HostView | undefined): boolean {
    return host !== undefined;
  }

  async collect(run: CollectorRun): Promise<void> {
    const linked = run.tenants.filter((tenant) => tenant.hostInterface !== undefined);
    if (linked.length === 0) return;
    // An unreadable /proc/net/dev fails the whole collector: every tenant's series would be missing.
    const counters = parseNetdev(await this.readNetdev(), new Set(linked.map((tenant) => tenant.hostInterface as string)));
    const receive = run.series(this.receive);
    const transmit = run.series(this.transmit);
    const drops = run.series(this.drops);
    for (const tenant of linked) {
      const link = counters.get(tenant.hostInterface as string);
      if (link === undefined) continue;
      receive.push({ value: link.txBytes, sharedLabels: tenant.labels });
      transmit.push({ value: link.rxBytes, sharedLabels: tenant.labels });
      drops.push({ value: link.rxDropped + link.txDropped, sharedLabels: tenant.labels });
    }
  }
}
