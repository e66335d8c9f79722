import { createHash } from 'node:crypto';
import { must, run } from './command';

export const FIREWALL_TABLE = 'governor';

export interface FirewallTenant {
  hostInterface: string;
  hostAddress: string;
  tenantAddress: string;
}

/**
 * The one nftables table Governor owns (inet governor). By default a tenant reaches nothing on the host
 * but its gateway's ICMP echo, nothing of another tenant, and nothing beyond; replies to connections the
 * host opened are let through. Packets from a tenant link must carry the tenant's own address. IPv6 on
 * tenant links is dropped. The table is replaced atomically as a whole, and tagged with a fingerprint of
 * its rules so that a hand edit is seen as drift.
 */
export function renderFirewall(tenants: readonly FirewallTenant[], table = FIREWALL_TABLE): string {
  const sorted = [...tenants].sort((a, b) => a.hostInterface.localeCompare(b.hostInterface));
  // The rules name this governor's links only, so that two governors (or two test runs) on one host each
  // guard their own tenants without touching the other's.
  const links = sorted.length === 0 ? undefined : `{ ${sorted.map((t) => `"${t.hostInterface}"`).join(', ')} }`;
  const perLink = (rule: string) => (links === undefined ? [] : [`    iifname ${links} ${rule}`]);
  const spoof = sorted.map((t) => `    iifname "${t.hostInterface}" ip saddr != ${t.tenantAddress} drop`);
  const gateway = sorted.map((t) => `    iifname "${t.hostInterface}" ip daddr ${t.hostAddress} icmp type echo-request accept`);
  const body = [
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    ...perLink('meta nfproto ipv6 drop'),
    ...spoof,
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    ...perLink('ct state established,related accept'),
    ...gateway,
    ...perLink('drop'),
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...perLink('drop'),
    ...(links === undefined ? [] : [`    oifname ${links} ct state established,related accept`, `    oifname ${links} drop`]),
    '  }',
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

export async function removeFirewall(table = FIREWALL_TABLE): Promise<void> {
  await run(['nft', 'delete', 'table', 'inet', table]);
}

/** Rules are the lines that end in a verdict; a hand-added or hand-deleted rule changes the count. */
function ruleCount(ruleset: string): number {
  return ruleset.split('\n').filter((line) => /\b(accept|drop)$/.test(line.trim()) && !/policy/.test(line)).length;
}
