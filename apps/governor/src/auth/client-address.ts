import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** One trusted proxy network from GOVERNOR_TRUSTED_PROXIES, in canonical form. */
export interface Cidr {
  family: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

export const TRUSTED_PROXIES_EXPECTED =
  'a comma-separated list of IPv4 or IPv6 networks or addresses, e.g. "10.0.0.0/8, 192.168.1.7, fd00::/8" (an address alone means /32 or /128)';

/** "10.0.0.0/8, fd00::/8" → networks; throws an error naming the first bad entry. */
export function parseTrustedProxies(text: string): Cidr[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [rawAddress, length, ...rest] = entry.split('/');
      const address = unmapIpv4(rawAddress);
      const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = length === undefined ? max : /^\d{1,3}$/.test(length) ? Number(length) : NaN;
      if (family === undefined || rest.length > 0 || !(prefix >= 0 && prefix <= max)) {
        throw new Error(`${JSON.stringify(entry)} is not a network; expected ${TRUSTED_PROXIES_EXPECTED}`);
      }
      return { family, address, prefix };
    });
}

/** Answers "is this hop one of our proxies?" for normalised addresses. */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly Cidr[]) {
    for (const cidr of cidrs) this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    this.empty = cidrs.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    if (isIPv4(address)) return this.list.check(address, 'ipv4');
    return isIPv6(address) && this.list.check(address, 'ipv6');
  }
}

/**
 * The address of the client that sent a request. X-Forwarded-For is believed only when the peer is a
 * trusted proxy, and then read from the right, skipping our own proxies: every hop left of the first
 * untrusted one was written by that untrusted party and may be anything. A hop that is not an address
 * ends the walk at the last hop we could still vouch for.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  let client = unmapIpv4(peer ?? '');
  if (!trusted.has(client) || forwardedFor === undefined) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((hop) => unmapIpv4(hop.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (!isIPv4(hop) && !isIPv6(hop)) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/**
 * The bucket a client's failures count in. Every loopback address is one local client (127/8 and ::1
 * alike), and IPv6 clients are grouped by /64, the smallest block an ISP hands out: otherwise a local
 * user or an IPv6 host could try again from a fresh address each time.
 */
export function clientKey(address: string): string {
  if (isIPv4(address)) return address.startsWith('127.') ? 'loopback' : address;
  if (!isIPv6(address)) return address === '' ? 'unknown' : address;
  const hextets = expandIpv6(address);
  if (hextets.every((h, i) => h === (i === 7 ? 1 : 0))) return 'loopback';
  return `${hextets
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(':')}::/64`;
}

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) → "10.0.0.1"; a zone id is dropped. */
function unmapIpv4(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : bare;
}

/** A valid IPv6 address as its eight hextets (an embedded dotted IPv4 tail becomes the last two). */
function expandIpv6(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
