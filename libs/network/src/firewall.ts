import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { must, run } from './command';

export const FIREWALL_TABLE = 'governor';

export interface FirewallTenant {
  hostInterface: string;
  hostAddress: string;
  tenantAddress: string;
  /** both ends' IPv6 addresses when IPv6 is configured for tenant links; otherwise IPv6 is dropped */
  ipv6?: { hostAddress: string; tenantAddress: string };
  /** the tenant's opt-in to reach the world beyond this host, forwarded and masqueraded */
  outside: boolean;
}

/** What a tenant link may send to the host in IPv6: neighbour discovery, without which nothing works. */
const NEIGHBOUR_DISCOVERY = '{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit }';

/**
 * The one nftables table Governor owns (inet <table>). By default a tenant reaches nothing on the host
 * but its gateway's ICMP echo, nothing of another tenant, and nothing beyond; replies to connections the
 * host opened are let through. Packets from a tenant link must carry the tenant's own address. IPv6 on a
 * tenant link is dropped unless the link has IPv6 addresses. A tenant that opted in to the outside is
 * forwarded to any interface that is not a tenant link, and masqueraded behind the host's address there.
 * The table is replaced atomically as a whole, and tagged with a fingerprint of its rules so that a hand
 * edit is seen as drift.
 */
export function renderFirewall(tenants: readonly FirewallTenant[], table = FIREWALL_TABLE): string {
  const sorted = [...tenants].sort((a, b) => a.hostInterface.localeCompare(b.hostInterface));
  // The rules name this governor's links only, so that two governors (or two test runs) on one host each
  // guard their own tenants without touching the other's.
  const links = sorted.length === 0 ? undefined : `{ ${sorted.map((t) => `"${t.hostInterface}"`).join(', ')} }`;
  const perLink = (rule: string) => (links === undefined ? [] : [`    iifname ${links} ${rule}`]);
  const each = (rule: (t: FirewallTenant) => string | undefined) => sorted.flatMap((t) => rule(t) ?? []);
  const outside = sorted.filter((t) => t.outside);
  const set = (addresses: string[]) => `{ ${addresses.join(', ')} }`;
  const outside4 = outside.map((t) => t.tenantAddress);
  const outside6 = outside.flatMap((t) => t.ipv6?.tenantAddress ?? []);

  const body = [
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    ...each((t) => `    iifname "${t.hostInterface}" ip saddr != ${t.tenantAddress} drop`),
    ...each((t) =>
      t.ipv6
        ? `    iifname "${t.hostInterface}" ip6 saddr != { ${t.ipv6.tenantAddress}, fe80::/10 } drop`
        : `    iifname "${t.hostInterface}" meta nfproto ipv6 drop`,
    ),
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    ...perLink('ct state established,related accept'),
    ...each((t) => `    iifname "${t.hostInterface}" ip daddr ${t.hostAddress} icmp type echo-request accept`),
    ...each((t) => t.ipv6 && `    iifname "${t.hostInterface}" ip6 daddr ${t.ipv6.hostAddress} icmpv6 type echo-request accept`),
    ...each((t) => t.ipv6 && `    iifname "${t.hostInterface}" icmpv6 type ${NEIGHBOUR_DISCOVERY} accept`),
    ...perLink('drop'),
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...(links === undefined ? [] : [`    iifname ${links} oifname ${links} drop`]),
    ...each((t) => (t.outside ? `    iifname "${t.hostInterface}" accept` : undefined)),
    ...perLink('drop'),
    ...(links === undefined ? [] : [`    oifname ${links} ct state established,related accept`, `    oifname ${links} drop`]),
    '  }',
    ...(outside.length === 0
      ? []
      : [
          '  chain postrouting {',
          '    type nat hook postrouting priority srcnat; policy accept;',
          `    ip saddr ${set(outside4)} oifname != ${links} masquerade`,
          ...(outside6.length === 0 ? [] : [`    ip6 saddr ${set(outside6)} oifname != ${links} masquerade`]),
          '  }',
        ]),
  ].join('\n');
  return `table inet ${table} {\n  comment "${fingerprint(body)}"\n${body}\n}\n`;
}

function fingerprint(body: string): string {
  return `governor:${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
}

/** Replaces the table when it is missing or its fingerprint differs; returns whether it wrote. */
export async function ensureFirewall(tenants: readonly FirewallTenant[], table = FIREWALL_TABLE): Promise<boolean> {
  const wanted = renderFirewall(tenants, table);
  const tag = /comment "([^"]+)"/.exec(wanted)?.[1];
  const current = await run(['nft', 'list', 'table', 'inet', table]);
  if (current.code === 0 && tag !== undefined && current.stdout.includes(`comment "${tag}"`) && ruleCount(current.stdout) === ruleCount(wanted)) return false;
  // "table; delete table; table {…}" in one file is one transaction: no moment without rules.
  await must(['nft', '-f', '-'], `table inet ${table}\ndelete table inet ${table}\n${wanted}`);
  return true;
}

/**
 * Turns on IP forwarding when a tenant has opted in to the outside (IPv6 forwarding only when such a
 * tenant has IPv6). It is never turned off again: other software on the host may rely on it, and with no
 * tenant opted in the forward chain still drops everything from tenant links. Returns what it changed.
 */
export async function ensureForwarding(tenants: readonly FirewallTenant[], procSys = '/proc/sys'): Promise<string[]> {
  const wanted = [
    ...(tenants.some((t) => t.outside) ? ['net/ipv4/ip_forward'] : []),
    ...(tenants.some((t) => t.outside && t.ipv6) ? ['net/ipv6/conf/all/forwarding'] : []),
  ];
  const changes: string[] = [];
  for (const key of wanted) {
    const path = join(procSys, key);
    if ((await readFile(path, 'utf8')).trim() === '1') continue;
    await writeFile(path, '1');
    changes.push(`${key.replace(/\//g, '.')}=1`);
  }
  return changes;
}

export async function removeFirewall(table = FIREWALL_TABLE): Promise<void> {
  await run(['nft', 'delete', 'table', 'inet', table]);
}

/** Rules are the lines that end in a verdict (or masquerade); a hand-added or hand-deleted rule changes the count. */
function ruleCount(ruleset: string): number {
  return ruleset.split('\n').filter((line) => /\b(accept|drop|masquerade)$/.test(line.trim()) && !/policy/.test(line)).length;
}
