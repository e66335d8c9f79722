import { readFile } from 'node:fs/promises';
import { inNetns, must, run } from './command';

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

interface IpAddressInfo {
  ifname: string;
  operstate?: string;
  flags?: string[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

const has = (info: IpAddressInfo | undefined, address: string, prefix: number, family = 'inet') =>
  info?.addr_info?.some((a) => a.family === family && a.local === address && a.prefixlen === prefix) ?? false;
const isUp = (info: IpAddressInfo | undefined) => info?.flags?.includes('UP') ?? false;

/**
 * Brings the veth pair, its addresses, routes and loopback to the spec, reading each first. Returns what
 * it had to change. The pair is created from inside the tenant's namespace with the host end sent to
 * pid 1's namespace, because `ip` can name a namespace by pid but not by a bind-mounted file.
 */
export async function ensureLink(spec: TenantLinkSpec): Promise<string[]> {
  const changes: string[] = [];
  const inside = (command: string[]) => inNetns(spec.netnsPath, command);
  const ipIn = inside(['ip']);

  let host = await addressesOf(['ip'], spec.hostInterface);
  if (host === undefined) {
    // A half-gone pair (the tenant end left behind) is removed first.
    await run(inside(['ip', 'link', 'del', TENANT_INTERFACE]));
    await must(inside(['ip', 'link', 'add', TENANT_INTERFACE, 'type', 'veth', 'peer', 'name', spec.hostInterface, 'netns', '1']));
    changes.push(`created veth ${spec.hostInterface} <-> ${TENANT_INTERFACE}`);
    host = await addressesOf(['ip'], spec.hostInterface);
  }
  await setIpv6([], spec.hostInterface, spec.ipv6 !== undefined);
  if (!has(host, spec.hostAddress, spec.prefix)) {
    await must(['ip', 'address', 'replace', `${spec.hostAddress}/${spec.prefix}`, 'dev', spec.hostInterface]);
    changes.push(`address ${spec.hostAddress}/${spec.prefix} on ${spec.hostInterface}`);
  }
  if (!isUp(host)) {
    await must(['ip', 'link', 'set', spec.hostInterface, 'up']);
    changes.push(`${spec.hostInterface} up`);
  }

  const lo = await addressesOf(ipIn, 'lo');
  if (!isUp(lo)) {
    await must(inside(['ip', 'link', 'set', 'lo', 'up']));
    changes.push('lo up');
  }
  await setIpv6(inside([]), TENANT_INTERFACE, spec.ipv6 !== undefined);
  const eth0 = await addressesOf(ipIn, TENANT_INTERFACE);
  if (!has(eth0, spec.tenantAddress, spec.prefix)) {
    await must(inside(['ip', 'address', 'replace', `${spec.tenantAddress}/${spec.prefix}`, 'dev', TENANT_INTERFACE]));
    changes.push(`address ${spec.tenantAddress}/${spec.prefix} on ${TENANT_INTERFACE}`);
  }
  if (!isUp(eth0)) {
    await must(inside(['ip', 'link', 'set', TENANT_INTERFACE, 'up']));
    changes.push(`${TENANT_INTERFACE} up`);
  }
  const route = await must(inside(['ip', '-j', 'route', 'show', 'default']));
  const routes = JSON.parse(route || '[]') as Array<{ gateway?: string }>;
  if (!routes.some((r) => r.gateway === spec.hostAddress)) {
    await must(inside(['ip', 'route', 'replace', 'default', 'via', spec.hostAddress, 'dev', TENANT_INTERFACE]));
    changes.push(`default route via ${spec.hostAddress}`);
  }
  if (spec.ipv6) changes.push(...(await ensureIpv6(spec, spec.ipv6, host, eth0)));
  return changes;
}

/** Both ends' IPv6 addresses (without duplicate address detection: they are ours alone) and the default route. */
async function ensureIpv6(spec: TenantLinkSpec, ipv6: TenantLinkIpv6, host: IpAddressInfo | undefined, eth0: IpAddressInfo | undefined): Promise<string[]> {
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
  const routes = JSON.parse((await must(inside(['ip', '-6', '-j', 'route', 'show', 'default']))) || '[]') as Array<{ gateway?: string }>;
  if (!routes.some((r) => r.gateway === ipv6.hostAddress)) {
    await must(inside(['ip', '-6', 'route', 'replace', 'default', 'via', ipv6.hostAddress, 'dev', TENANT_INTERFACE]));
    changes.push(`IPv6 default route via ${ipv6.hostAddress}`);
  }
  return changes;
}

async function addressesOf(ip: string[], device: string): Promise<IpAddressInfo | undefined> {
  const result = await run([...ip, '-j', 'address', 'show', 'dev', device]);
  if (result.code !== 0) return undefined;
  return (JSON.parse(result.stdout) as IpAddressInfo[])[0];
}

/** IPv6 stays off on tenant links unless configured: no link-local chatter, no surprise routes. */
async function setIpv6(prefix: string[], device: string, enabled: boolean): Promise<void> {
  await run([...prefix, 'sysctl', '-q', '-w', `net.ipv6.conf.${device}.disable_ipv6=${enabled ? 0 : 1}`]);
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

/** Counters from the tenant's side, read from the host end in /sys/class/net. */
export async function linkCounters(hostInterface: string): Promise<LinkCounters | undefined> {
  const stat = async (name: string) => Number((await readFile(`/sys/class/net/${hostInterface}/statistics/${name}`, 'utf8')).trim());
  try {
    const [tx, rx, txDrop, rxDrop] = await Promise.all([stat('tx_bytes'), stat('rx_bytes'), stat('tx_dropped'), stat('rx_dropped')]);
    return { receiveBytes: tx, transmitBytes: rx, drops: txDrop + rxDrop };
  } catch {
    return undefined;
  }
}
