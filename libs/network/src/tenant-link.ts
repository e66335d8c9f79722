import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { KoffiNative } from '../../native/src/native';
import { inNetns, must, run } from './command';
import { type LinkView, NetworkObserver, type NetworkView } from './observe';

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

let defaultObserver: NetworkObserver | undefined;
/** The native library's netlink reader, made on first use. */
export function networkObserver(): NetworkObserver {
  defaultObserver ??= new NetworkObserver(new KoffiNative());
  return defaultObserver;
}

/** What ensureLink saw of the host end, for the shaping step to reuse without reading again. */
export interface LinkResult {
  changes: string[];
  host: LinkView | undefined;
}

/**
 * Brings the veth pair, its addresses, routes and loopback to the spec, reading each first. Returns what
 * it had to change. Everything is read over netlink and /proc/sys (two native calls, no process), so a
 * link in sync costs no process; only a change runs `ip` or `sysctl`. The pair is created from inside the
 * tenant's namespace with the host end sent to this process's namespace (by pid: `ip` can name a
 * namespace by pid but not by a bind-mounted file). Not pid 1's: a governor run in a network namespace of
 * its own (an agent under `ip netns exec`, a container) keeps its host ends beside it.
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

export async function ensureLinkObserved(spec: TenantLinkSpec, observer: NetworkObserver = networkObserver(), hooks: LinkHooks = {}): Promise<LinkResult> {
  const changes: string[] = [];
  const inside = (command: string[]) => inNetns(spec.netnsPath, command);
  const hostLink = async () => (await observer.observe(undefined, [spec.hostInterface])).links.get(spec.hostInterface);

  const tenantView = () => observer.observe(spec.netnsPath, ['lo', TENANT_INTERFACE]);

  // The host end is read first: listing it makes the kernel name its other end's namespace, if it has not.
  let host = await hostLink();
  let tenant = await tenantView();
  if (host !== undefined && !pairedWith(host, tenant.links.get(TENANT_INTERFACE), observer.nsid(spec.netnsPath))) {
    // The host end leads into another namespace: an old one, lost from the run directory and made again,
    // that a process still keeps alive. Deleting it deletes its other end there too.
    await must(['ip', 'link', 'del', spec.hostInterface]);
    changes.push(`removed ${spec.hostInterface}: its other end was not ${TENANT_INTERFACE} of ${spec.netnsPath}`);
    host = undefined;
  }
  if (host === undefined) {
    // A half-gone pair (the tenant end left behind) is removed first.
    await run(inside(['ip', 'link', 'del', TENANT_INTERFACE]));
    await must(inside(['ip', 'link', 'add', TENANT_INTERFACE, 'type', 'veth', 'peer', 'name', spec.hostInterface, 'netns', String(process.pid)]));
    changes.push(`created veth ${spec.hostInterface} <-> ${TENANT_INTERFACE}`);
    host = await hostLink();
    tenant = await tenantView();
  }
  // The host end's switch is this namespace's /proc/sys: written directly, no process.
  if (host !== undefined && host.ipv6Disabled !== undefined && host.ipv6Disabled !== (spec.ipv6 === undefined)) {
    await writeFile(`/proc/sys/net/ipv6/conf/${spec.hostInterface}/disable_ipv6`, spec.ipv6 === undefined ? '1' : '0');
    changes.push(`IPv6 ${spec.ipv6 === undefined ? 'off' : 'on'} on ${spec.hostInterface}`);
  }
  if (!has(host, spec.hostAddress, spec.prefix)) {
    await must(['ip', 'address', 'replace', `${spec.hostAddress}/${spec.prefix}`, 'dev', spec.hostInterface]);
    changes.push(`address ${spec.hostAddress}/${spec.prefix} on ${spec.hostInterface}`);
  }
  if (hooks.beforeUp !== undefined && (!isUp(host) || !isUp(tenant.links.get(TENANT_INTERFACE)))) await hooks.beforeUp();
  if (!isUp(host)) {
    await must(['ip', 'link', 'set', spec.hostInterface, 'up']);
    changes.push(`${spec.hostInterface} up`);
  }

  if (!isUp(tenant.links.get('lo'))) {
    await must(inside(['ip', 'link', 'set', 'lo', 'up']));
    changes.push('lo up');
  }
  const eth0 = tenant.links.get(TENANT_INTERFACE);
  if (eth0?.ipv6Disabled !== undefined && eth0.ipv6Disabled !== (spec.ipv6 === undefined)) {
    await must(inside(['sysctl', '-q', '-w', `net.ipv6.conf.${TENANT_INTERFACE}.disable_ipv6=${spec.ipv6 === undefined ? 1 : 0}`]));
    changes.push(`IPv6 ${spec.ipv6 === undefined ? 'off' : 'on'} on ${TENANT_INTERFACE}`);
  }
  if (!has(eth0, spec.tenantAddress, spec.prefix)) {
    await must(inside(['ip', 'address', 'replace', `${spec.tenantAddress}/${spec.prefix}`, 'dev', TENANT_INTERFACE]));
    changes.push(`address ${spec.tenantAddress}/${spec.prefix} on ${TENANT_INTERFACE}`);
  }
  if (!isUp(eth0)) {
    await must(inside(['ip', 'link', 'set', TENANT_INTERFACE, 'up']));
    changes.push(`${TENANT_INTERFACE} up`);
  }
  if (!tenant.defaultRoutes.inet.includes(spec.hostAddress)) {
    await must(inside(['ip', 'route', 'replace', 'default', 'via', spec.hostAddress, 'dev', TENANT_INTERFACE]));
    changes.push(`default route via ${spec.hostAddress}`);
  }
  if (spec.ipv6) changes.push(...(await ensureIpv6(spec, spec.ipv6, host, eth0, tenant)));
  return { changes, host };
}

/** Both ends' IPv6 addresses (without duplicate address detection: they are ours alone) and the default route. */
async function ensureIpv6(
  spec: TenantLinkSpec,
  ipv6: TenantLinkIpv6,
  host: LinkView | undefined,
  eth0: LinkView | undefined,
  tenant: NetworkView,
): Promise<string[]> {
  const changes: string[] = [];
  const inside = (command: string[]) => inNetns(spec.netnsPath, command);
  if (!has(host, ipv6.hostAddress, ipv6.prefix, 'inet6')) {
    await must(['ip', '-6', 'address', 'replace', `${ipv6.hostAddress}/${ipv6.prefix}`, 'dev', spec.hostInterface, 'nodad']);
    changes.push(`address ${ipv6.hostAddress}/${ipv6.prefix} on ${spec.hostInterface}`);
  }
  if (!has(eth0, ipv6.tenantAddress, ipv6.prefix, 'inet6')) {
    await must(inside(['ip', '-6', 'address', 'replace', `${ipv6.tenantAddress}/${ipv6.prefix}`, 'dev', TENANT_INTERFACE, 'nodad']));
    changes.push(`address ${ipv6.tenantAddress}/${ipv6.prefix} on ${TENANT_INTERFACE}`);
  }
  if (!tenant.defaultRoutes.inet6.includes(ipv6.hostAddress)) {
    await must(inside(['ip', '-6', 'route', 'replace', 'default', 'via', ipv6.hostAddress, 'dev', TENANT_INTERFACE]));
    changes.push(`IPv6 default route via ${ipv6.hostAddress}`);
  }
  return changes;
}

/** Removes the pair (deleting one end deletes both). A missing link is already done. */
export async function removeLink(hostInterface: string): Promise<void> {
  await run(['ip', 'link', 'del', hostInterface]);
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
