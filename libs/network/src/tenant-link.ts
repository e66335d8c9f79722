import { readFileSync } from 'node:fs';
import { KoffiNative } from '../../native/src/native';
import { KoffiNetlink } from '../../native/src/netlink';
import type { NetlinkStep, NetlinkWrites } from '../../native/src/netlink.types';
import { LinkDeletions } from './link-deletions';
import { type LinkView, NetworkObserver } from './observe';

/** Everything one tenant's link needs; built by the caller from the tenant's allocation and quota. */
export interface TenantLinkSpec {
  /** gv + 10 hex digits of the tenant id: interface names are at most 15 characters */
  hostInterface: string;
  /** the tenant's network namespace, a bind mount under /run/governor/ns/<name>/net */
  netnsPath: string;
  hostAddress: string;
  tenantAddress: string;
  prefix: number;
  /** into the tenant, bits per second; undefined or "max" for none */
  ingress: number | 'max' | undefined;
  /** out of the tenant, bits per second */
  egress: number | 'max' | undefined;
  /** IPv6 addresses of both ends when IPv6 is configured; without them IPv6 is disabled on the link */
  ipv6?: TenantLinkIpv6;
}

export interface TenantLinkIpv6 {
  hostAddress: string;
  tenantAddress: string;
  prefix: number;
}

export const TENANT_INTERFACE = 'eth0';

/** "gv" and the first 10 hex digits of the tenant's uuid. */
export function hostInterfaceName(tenantId: string): string {
  const hex = tenantId.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{10}/.test(hex)) throw new Error(`not a tenant id: ${JSON.stringify(tenantId)}`);
  return `gv${hex.slice(0, 10)}`;
}

const has = (link: LinkView | undefined, address: string, prefix: number, family: 'inet' | 'inet6' = 'inet') =>
  link?.addresses.some((a) => a.family === family && a.local === address && a.prefix === prefix) ?? false;
const isUp = (link: LinkView | undefined) => link?.up ?? false;

/**
 * Whether the host end and the tenant's eth0 are the two ends of one veth: the host end's other end is in
 * the tenant's namespace (by the id the host's namespace gives it) and has eth0's index, and eth0's other
 * end has the host end's index.
 */
export function pairedWith(host: LinkView, eth0: LinkView | undefined, tenantNsid: number): boolean {
  return (
    eth0 !== undefined &&
    host.peer !== undefined &&
    tenantNsid !== -1 &&
    host.peer.nsid === tenantNsid &&
    host.peer.index === eth0.index &&
    eth0.peer?.index === host.index
  );
}

let defaultNative: KoffiNative | undefined;
let defaultWrites: NetlinkWrites | undefined;
let defaultObserver: NetworkObserver | undefined;
/** The native library's netlink reader, made on first use. */
export function networkObserver(): NetworkObserver {
  defaultNative ??= new KoffiNative();
  defaultObserver ??= new NetworkObserver(defaultNative);
  return defaultObserver;
}

/** The native library's netlink writer, made on first use. */
export function netlinkWrites(): NetlinkWrites {
  defaultWrites ??= new KoffiNetlink();
  return defaultWrites;
}

/** What ensureLink saw of the host end, for the shaping step to reuse without reading again. */
export interface LinkResult {
  changes: string[];
  host: LinkView | undefined;
  /** the id this namespace gives the tenant's, as ensureLink read it first (-1: none) */
  nsid: number;
}

/**
 * Brings the veth pair, its addresses, routes and loopback to the spec, reading each first. Returns what
 * it had to change. Everything is read and written over netlink and /proc/sys/net by the native library
 * (a tenant's namespace entered by a short-lived native thread, by its bind-mounted file), so neither a
 * link in sync nor a new one starts a process. The pair is made from this process's namespace with the
 * tenant's end created directly in the tenant's (IFLA_NET_NS_FD): not pid 1's, so a governor run in a
 * network namespace of its own (an agent under `ip netns exec`, a container) keeps its host ends beside it.
 */
export async function ensureLink(spec: TenantLinkSpec, observer: NetworkObserver = networkObserver()): Promise<string[]> {
  return (await ensureLinkObserved(spec, observer)).changes;
}

/** What the caller does at fixed points of ensureLink. */
export interface LinkHooks {
  /**
   * Runs before either end is brought up, and only then: the firewall must filter the link first, so that a
   * tenant never has a working link without its filter. A throw leaves both ends down.
   */
  beforeUp?: () => Promise<void>;
}

const switchKey = (ifname: string) => `ipv6/conf/${ifname}/disable_ipv6`;

export async function ensureLinkObserved(
  spec: TenantLinkSpec,
  observer: NetworkObserver = networkObserver(),
  hooks: LinkHooks = {},
  writes: NetlinkWrites = netlinkWrites(),
): Promise<LinkResult> {
  const changes: string[] = [];
  const netns = spec.netnsPath;
  const hostLink = async () => (await observer.observe(undefined, [spec.hostInterface])).links.get(spec.hostInterface);
  const tenantView = () => observer.observe(netns, ['lo', TENANT_INTERFACE]);

  // The host end is read first: listing it makes the kernel name its other end's namespace, if it has not.
  let host = await hostLink();
  let tenant = await tenantView();
  const nsid = host === undefined ? -1 : observer.nsid(netns);
  if (host !== undefined && !pairedWith(host, tenant.links.get(TENANT_INTERFACE), nsid)) {
    // The host end leads into another namespace: an old one, lost from the run directory and made again,
    // that a process still keeps alive. Deleting it deletes its other end there too.
    await writes.deleteLink(undefined, spec.hostInterface);
    changes.push(`removed ${spec.hostInterface}: its other end was not ${TENANT_INTERFACE} of ${netns}`);
    host = undefined;
  }
  if (host === undefined) {
    // A half-gone pair (the tenant end left behind) is removed first.
    if (tenant.links.has(TENANT_INTERFACE)) await writes.deleteLink(netns, TENANT_INTERFACE);
    await writes.createVeth(undefined, spec.hostInterface, TENANT_INTERFACE, netns);
    changes.push(`created veth ${spec.hostInterface} <-> ${TENANT_INTERFACE}`);
    host = await hostLink();
    tenant = await tenantView();
  }
  // Each side's writes go as one plan (one native call, one entering thread for the tenant's namespace), in
  // the order of the single writes: address before up, up before the route through it.
  const hostPlan = new Plan();
  const tenantPlan = new Plan();
  const ipv6Off = spec.ipv6 === undefined ? '1' : '0';
  const ipv6Word = spec.ipv6 === undefined ? 'off' : 'on';
  if (host !== undefined && host.ipv6Disabled !== undefined && host.ipv6Disabled !== (spec.ipv6 === undefined))
    hostPlan.add({ op: 'sysctl', key: switchKey(spec.hostInterface), value: ipv6Off }, `IPv6 ${ipv6Word} on ${spec.hostInterface}`);
  if (!has(host, spec.hostAddress, spec.prefix))
    hostPlan.add(
      { op: 'addr', ifname: spec.hostInterface, address: spec.hostAddress, prefix: spec.prefix },
      `address ${spec.hostAddress}/${spec.prefix} on ${spec.hostInterface}`,
    );
  const ipv6 = spec.ipv6;
  if (ipv6 && !has(host, ipv6.hostAddress, ipv6.prefix, 'inet6'))
    // Without duplicate address detection: the addresses are ours alone.
    hostPlan.add(
      { op: 'addr', ifname: spec.hostInterface, address: ipv6.hostAddress, prefix: ipv6.prefix, nodad: true },
      `address ${ipv6.hostAddress}/${ipv6.prefix} on ${spec.hostInterface}`,
    );
  changes.push(...(await hostPlan.apply(writes, undefined)));

  if (hooks.beforeUp !== undefined && (!isUp(host) || !isUp(tenant.links.get(TENANT_INTERFACE)))) await hooks.beforeUp();
  if (!isUp(host)) {
    await writes.setLinkUp(undefined, spec.hostInterface);
    changes.push(`${spec.hostInterface} up`);
  }

  if (!isUp(tenant.links.get('lo'))) tenantPlan.add({ op: 'up', ifname: 'lo' }, 'lo up');
  const eth0 = tenant.links.get(TENANT_INTERFACE);
  if (eth0?.ipv6Disabled !== undefined && eth0.ipv6Disabled !== (spec.ipv6 === undefined))
    tenantPlan.add({ op: 'sysctl', key: switchKey(TENANT_INTERFACE), value: ipv6Off }, `IPv6 ${ipv6Word} on ${TENANT_INTERFACE}`);
  if (!has(eth0, spec.tenantAddress, spec.prefix))
    tenantPlan.add(
      { op: 'addr', ifname: TENANT_INTERFACE, address: spec.tenantAddress, prefix: spec.prefix },
      `address ${spec.tenantAddress}/${spec.prefix} on ${TENANT_INTERFACE}`,
    );
  if (!isUp(eth0)) tenantPlan.add({ op: 'up', ifname: TENANT_INTERFACE }, `${TENANT_INTERFACE} up`);
  if (!tenant.defaultRoutes.inet.includes(spec.hostAddress))
    tenantPlan.add({ op: 'route', ifname: TENANT_INTERFACE, gateway: spec.hostAddress }, `default route via ${spec.hostAddress}`);
  if (ipv6) {
    if (!has(eth0, ipv6.tenantAddress, ipv6.prefix, 'inet6'))
      tenantPlan.add(
        { op: 'addr', ifname: TENANT_INTERFACE, address: ipv6.tenantAddress, prefix: ipv6.prefix, nodad: true },
        `address ${ipv6.tenantAddress}/${ipv6.prefix} on ${TENANT_INTERFACE}`,
      );
    if (!tenant.defaultRoutes.inet6.includes(ipv6.hostAddress))
      tenantPlan.add({ op: 'route', ifname: TENANT_INTERFACE, gateway: ipv6.hostAddress }, `IPv6 default route via ${ipv6.hostAddress}`);
  }
  changes.push(...(await tenantPlan.apply(writes, netns)));
  return { changes, host, nsid };
}

/** The writes one side of the link needs, each with the change it reports. */
class Plan {
  private readonly steps: NetlinkStep[] = [];
  private readonly changes: string[] = [];

  add(step: NetlinkStep, change: string): void {
    this.steps.push(step);
    this.changes.push(change);
  }

  /** Applies them in one call (none when there is nothing to write) and returns their changes. */
  async apply(writes: NetlinkWrites, netnsPath: string | undefined): Promise<string[]> {
    if (this.steps.length > 0) await writes.apply(netnsPath, this.steps);
    return this.changes;
  }
}

const deletions = new WeakMap<NetlinkWrites, LinkDeletions>();

/**
 * Removes the pair (deleting one end deletes both). A missing link is already done. Removals requested
 * together (many tenants deleted at once) reach the kernel as one batch.
 */
export async function removeLink(hostInterface: string, writes: NetlinkWrites = netlinkWrites()): Promise<void> {
  let batcher = deletions.get(writes);
  if (batcher === undefined) {
    batcher = new LinkDeletions(writes);
    deletions.set(writes, batcher);
  }
  await batcher.delete(undefined, hostInterface);
}

export interface LinkCounters {
  /** bytes into the tenant: what the host end transmitted */
  receiveBytes: number;
  /** bytes out of the tenant: what the host end received */
  transmitBytes: number;
  drops: number;
}

/**
 * Counters from the tenant's side, read from the host end in /sys/class/net. Read in place: a sysfs
 * attribute is made on read and never blocks, and four reads through the thread pool cost far more than the
 * reads themselves, for every tenant on every sample and scrape.
 */
export function linkCounters(hostInterface: string): Promise<LinkCounters | undefined> {
  const stat = (name: string) => Number(readFileSync(`/sys/class/net/${hostInterface}/statistics/${name}`, 'utf8').trim());
  try {
    const [tx, rx, txDrop, rxDrop] = [stat('tx_bytes'), stat('rx_bytes'), stat('tx_dropped'), stat('rx_dropped')];
    return Promise.resolve({ receiveBytes: tx, transmitBytes: rx, drops: txDrop + rxDrop });
  } catch {
    return Promise.resolve(undefined);
  }
}
