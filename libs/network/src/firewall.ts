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
export function renderFirewall(tenants: readonly FirewallTenant[]): string {
  const sorted = [...tenants].sort((a, b) => a.hostInterface.localeCompare(b.hostInterface));
  const spoof = sorted.map((t) => `    iifname "${t.hostInterface}" ip saddr != ${t.tenantAddress} drop`);
  const gateway = sorted.map((t) => `    iifname "${t.hostInterface}" ip daddr ${t.hostAddress} icmp type echo-request accept`);
  const body = [
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    iifname "gv*" meta nfproto ipv6 drop',
    ...spoof,
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    '    iifname "gv*" ct state established,related accept',
    ...gateway,
    '    iifname "gv*" drop',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    '    iifname "gv*" drop',
    '    oifname "gv*" ct state established,related accept',
    '    oifname "gv*" drop',
    '  }',
  ].join('\n');
  return `table inet ${FIREWALL_TABLE} {\n  comment "${fingerprint(body)}"\n${body}\n}\n`;
}

function fingerprint(body: string): string {
  return `governor:${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
}

/** Replaces the table when it is missing or its fingerprint differs; returns whether it wrote. */
export async function ensureFirewall(tenants: readonly FirewallTenant[]): Promise<boolean> {
  const wanted = renderFirewall(tenants);
  const tag = /comment "([^"]+)"/.exec(wanted)?.[1];
  const current = await run(['nft', 'list', 'table', 'inet', FIREWALL_TABLE]);
  if (current.code === 0 && tag !== undefined && current.stdout.includes(`comment "${tag}"`) && ruleCount(current.stdout) === ruleCount(wanted)) return false;
  // "table; delete table; table {…}" in one file is one transaction: no moment without rules.
  await must(['nft', '-f', '-'], `table inet ${FIREWALL_TABLE}\ndelete table inet ${FIREWALL_TABLE}\n${wanted}`);
  return true;
}

export async function removeFirewall(): Promise<void> {
  await run(['nft', 'delete', 'table', 'inet', FIREWALL_TABLE]);
}

/** Rules are the lines that end in a verdict; a hand-added or hand-deleted rule changes the count. */
function ruleCount(ruleset: string): number {
  return ruleset.split('\n').filter((line) => /\b(accept|drop)$/.test(line.trim()) && !/policy/.test(line)).length;
}
