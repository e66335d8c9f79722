import { isIPv4, isIPv6 } from 'node:net';

/**
 * IPv6 on tenant links, when configured, needs no pool of its own: a tenant's IPv6 addresses are its
 * IPv4 addresses embedded in the low 32 bits of one configured /96 (as RFC 6052 does for NAT64). They are
 * as unique as the IPv4 block PostgreSQL already guards, and a /31 becomes a /127, a /30 a /126.
 */
export const IPV6_PREFIX_LENGTH = 96;

/** The first 96 bits of a "<address>/96" as six hextets, or an error that says what is allowed. */
export function parseIpv6Prefix(text: string): number[] {
  const [address, length, ...rest] = text.split('/');
  if (rest.length > 0 || length !== String(IPV6_PREFIX_LENGTH) || !isIPv6(address) || address.includes('.')) {
    throw new Error(`must be an IPv6 network written as <address>/96 (e.g. fd00:6776::/96); a tenant's IPv4 address fills its low 32 bits`);
  }
  const hextets = expand(address);
  if (hextets[6] !== 0 || hextets[7] !== 0) throw new Error(`must be a network address: its low 32 bits must be zero (e.g. fd00:6776::/96)`);
  return hextets.slice(0, 6);
}

/** The IPv6 address of an IPv4 address inside the prefix, in canonical (RFC 5952) form. */
export function embedIpv4(prefix: readonly number[], ipv4: string): string {
  if (prefix.length !== 6 || !isIPv4(ipv4)) throw new Error(`cannot embed ${JSON.stringify(ipv4)} in an IPv6 /96`);
  const [a, b, c, d] = ipv4.split('.').map(Number);
  return compress([...prefix, (a << 8) | b, (c << 8) | d]);
}

/** The IPv6 prefix length that matches an IPv4 one (/31 → /127). */
export function embeddedPrefixLength(ipv4Prefix: number): number {
  return IPV6_PREFIX_LENGTH + ipv4Prefix;
}

function expand(address: string): number[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952: lower case, no leading zeros, the longest run (of two or more) of zero hextets as "::". */
function compress(hextets: readonly number[]): string {
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const text = hextets.map((h) => h.toString(16));
  if (best.start < 0) return text.join(':');
  return `${text.slice(0, best.start).join(':')}::${text.slice(best.start + best.length).join(':')}`;
}

/** Both ends' IPv6 addresses of a tenant link, or undefined when IPv6 is not configured. */
export function tenantIpv6(
  prefix: readonly number[] | undefined,
  ipv4: { hostAddress: string; tenantAddress: string; prefix: number },
): { hostAddress: string; tenantAddress: string; prefix: number } | undefined {
  if (prefix === undefined) return undefined;
  return { hostAddress: embedIpv4(prefix, ipv4.hostAddress), tenantAddress: embedIpv4(prefix, ipv4.tenantAddress), prefix: embeddedPrefixLength(ipv4.prefix) };
}
