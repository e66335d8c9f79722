import type { GovernorNative } from '../../native/src/native.types';

export interface LinkAddress {
  family: 'inet' | 'inet6';
  local: string;
  prefix: number;
}

export interface LinkQdisc {
  kind: string;
  parent: 'root' | 'ingress' | 'other';
  /** tbf's rate in bytes per second; 0 for other kinds */
  rate: number;
}

/** One link as the kernel reports it. */
export interface LinkView {
  index: number;
  name: string;
  up: boolean;
  addresses: LinkAddress[];
  qdiscs: LinkQdisc[];
  /** net.ipv6.conf.<link>.disable_ipv6; undefined when the kernel has no IPv6 */
  ipv6Disabled: boolean | undefined;
  /** a veth's other end: its index, and the id of its namespace as this one names it (-1: this namespace) */
  peer?: { index: number; nsid: number };
  /** the police rate (bytes per second) of the matchall filter on the ingress qdisc, when it has one */
  police?: number;
}

/** The links asked for in one namespace, and its default routes (inside a tenant's namespace only). */
export interface NetworkView {
  links: Map<string, LinkView>;
  defaultRoutes: { inet: string[]; inet6: string[] };
}

/** Parses the text of gv_net_observe (native/netlink.h). */
export function parseNetworkView(text: string): NetworkView {
  const links = new Map<string, LinkView>();
  const byIndex = new Map<string, LinkView>();
  const switches = new Map<string, boolean>();
  const defaultRoutes: NetworkView['defaultRoutes'] = { inet: [], inet6: [] };
  for (const line of text.split('\n')) {
    const [kind, ...rest] = line.split(' ');
    if (kind === 'disable_ipv6' && rest.length === 2) switches.set(rest[0], rest[1] === '1');
    else if (kind === 'link' && rest.length === 3) {
      const [index, name, state] = rest as [string, string, string];
      const link = links.get(name) ?? { index: Number(index), name, up: state === 'up', addresses: [], qdiscs: [], ipv6Disabled: switches.get(name) };
      links.set(name, link);
      byIndex.set(index, link);
    } else if (kind === 'peer' && rest.length === 3) {
      const link = byIndex.get(rest[0]);
      if (link) link.peer = { index: Number(rest[1]), nsid: Number(rest[2]) };
    } else if (kind === 'addr' && rest.length === 3) {
      const [index, family, cidr] = rest as [string, string, string];
      const [local, prefix] = cidr.split('/');
      const link = byIndex.get(index);
      if (link && !link.addresses.some((a) => a.family === family && a.local === local))
        link.addresses.push({ family: family === 'inet6' ? 'inet6' : 'inet', local, prefix: Number(prefix) });
    } else if (kind === 'qdisc' && rest.length === 4) {
      const [index, qdisc, parent, rate] = rest as [string, string, string, string];
      byIndex.get(index)?.qdiscs.push({ kind: qdisc, parent: parent === 'root' || parent === 'ingress' ? parent : 'other', rate: Number(rate) });
    } else if (kind === 'police' && rest.length === 2) {
      const link = byIndex.get(rest[0]);
      if (link && link.police === undefined) link.police = Number(rest[1]);
    } else if (kind === 'route' && rest.length === 3 && rest[1] === 'default') {
      defaultRoutes[rest[0] === 'inet6' ? 'inet6' : 'inet'].push(rest[2]);
    }
  }
  return { links, defaultRoutes };
}

/**
 * Reads a tenant's network through the native library's netlink reader: a pass over a link in sync
 * starts no `ip`, `tc`, `sysctl` or `nsenter` process.
 */
export class NetworkObserver {
  constructor(private readonly native: Pick<GovernorNative, 'observeNetwork' | 'netNsid'>) {}

  async observe(netnsPath: string | undefined, links: readonly string[]): Promise<NetworkView> {
    return parseNetworkView(await this.native.observeNetwork(netnsPath, links));
  }

  /** The id this namespace gives a tenant's (by its file), as a peer's nsid names it; -1 for none. */
  nsid(netnsPath: string): number {
    return this.native.netNsid(netnsPath);
  }
}
