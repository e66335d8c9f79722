import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Nftables, parseListing } from './nftables';

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
 * The table is replaced atomically as a whole (TenantFirewall), and tagged with a fingerprint of its rules
 * for people reading `nft list ruleset`.
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

/** The fingerprint in a table's comment, as rendered or as `nft list table` prints it. */
function fingerprintIn(text: string): string | undefined {
  return /comment "(governor:[0-9a-f]+)"/.exec(text)?.[1];
}

function fingerprint(body: string): string {
  return `governor:${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
}

/** What one look at the table did: whether it was replaced, and which entries a hand edit had changed. */
export interface FirewallOutcome {
  written: boolean;
  /** the listing entries (rules, chains, the table) that differed from what Governor applied; empty unless drift */
  drift: string[];
}

/** JSON with its object keys sorted, so that two listings compare by content, not by key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * An `nft -j list table` listing in comparable form: one string per table, chain and rule, in order,
 * without what the kernel assigns afresh each time (handles) or what nft says about itself (metainfo).
 */
export function normaliseListing(items: readonly unknown[]): string[] {
  return items.flatMap((item) => {
    if (item === null || typeof item !== 'object' || 'metainfo' in item) return [];
    return [
      canonical(
        Object.fromEntries(
          Object.entries(item as Record<string, Record<string, unknown>>).map(([kind, body]) => [
            kind,
            Object.fromEntries(Object.entries(body).filter(([key]) => key !== 'handle')),
          ]),
        ),
      ),
    ];
  });
}

/**
 * What differs between two normalised listings: the entries one has and the other lacks (an "accept"
 * replacing a "drop" shows as both), or, when they hold the same entries in another order, the entries
 * out of place, since a rule's position is part of its meaning.
 */
export function diffListing(wanted: readonly string[], current: readonly string[]): string[] {
  if (wanted.length === current.length && wanted.every((entry, i) => entry === current[i])) return [];
  const remaining = new Map<string, number>();
  for (const entry of current) remaining.set(entry, (remaining.get(entry) ?? 0) + 1);
  const lacking: string[] = [];
  for (const entry of wanted) {
    const left = remaining.get(entry) ?? 0;
    if (left > 0) remaining.set(entry, left - 1);
    else lacking.push(entry);
  }
  const added = [...remaining].flatMap(([entry, count]) => Array<string>(count).fill(entry));
  if (lacking.length > 0 || added.length > 0) return [...lacking, ...added];
  return wanted.filter((entry, i) => entry !== current[i]);
}

/**
 * The tenants a firewall drift touched, for governor_drift_corrections_total: those whose link a differing
 * entry names; every tenant when none is named (a chain or the whole table went), since all lost their filter.
 */
export function tenantsInDrift(drift: readonly string[], tenants: ReadonlyMap<string, FirewallTenant>): string[] {
  if (drift.length === 0) return [];
  const all = [...tenants.entries()];
  const named = all.filter(([, t]) => drift.some((entry) => entry.includes(JSON.stringify(t.hostInterface)))).map(([name]) => name);
  return named.length > 0 ? named : all.map(([name]) => name);
}

/** The kernel's form of what was applied, from the text of the last listing that matched it. */
function appliedListing(applied: { text: string | undefined }): string[] {
  return normaliseListing(applied.text === undefined ? [] : parseListing(applied.text));
}

/**
 * Governor's nftables table, kept by content. The rendered table is applied as one transaction, then
 * listed once to learn the kernel's own form of it (nft reads rules back normalised: sets sorted, "!="
 * spelled out, prefixes merged). Each later pass lists the table (in process, through libnftables) and
 * compares it with that form: a hand edit of any rule, even one that keeps the count of accepts and drops,
 * is repaired; a table in sync is neither written nor costs a process. A pass that finds the ruleset
 * generation where the last listing in sync left it does not even list: no transaction of any table was
 * committed since (a hand edit is one); one whose listing is the very text of the last listing in sync
 * (handles and all: a rule replaced by hand gets new ones) is in sync without parsing it, which is what a
 * host whose other tables change (another firewall, a container runtime) costs each pass. A new governor
 * knows no form yet, so its first pass applies the table once.
 */
export class TenantFirewall {
  /**
   * what was applied, and the ruleset generation and text of the last listing that matched it: the kernel's
   * form of what was applied, parsed only when a later listing differs from it
   */
  private applied: { rendered: string; generation: number | undefined; text: string | undefined } | undefined;

  constructor(
    readonly table: string = FIREWALL_TABLE,
    private readonly nft: Nftables = new Nftables(),
  ) {}

  async ensure(tenants: readonly FirewallTenant[]): Promise<FirewallOutcome> {
    const rendered = renderFirewall(tenants, this.table);
    if (this.applied?.rendered === rendered) {
      // Read before the listing: a transaction committed while it lists bumps it past what is kept below.
      const generation = this.generation();
      if (generation !== undefined && generation === this.applied.generation) return { written: false, drift: [] };
      const text = await this.nft.listTableText(this.table);
      if (text !== undefined && text === this.applied.text) {
        this.applied.generation = generation;
        return { written: false, drift: [] };
      }
      const drift =
        text === undefined ? [`table inet ${this.table} is missing`] : diffListing(appliedListing(this.applied), normaliseListing(parseListing(text)));
      if (drift.length === 0) {
        this.applied.generation = generation;
        this.applied.text = text;
        return { written: false, drift };
      }
      await this.replace(rendered);
      return { written: true, drift };
    }
    // The table changes (a tenant came or went, or this governor has just started). A hand edit made since
    // the last apply is still drift: the table as it stands is compared with what was applied last, or, for a
    // governor that applied nothing yet, with this rendering once applied, when the table's fingerprint says
    // it was rendered from the same tenants (otherwise a difference cannot be told from the tenants' change).
    const prior = this.applied;
    // No transaction since the last listing in sync (the generation has not moved), or a listing that is the
    // very text of that one: the table is as it was left, so a tenant's arrival costs no parse of every other
    // tenant's rules (nor, with the generation, a listing).
    const generation = this.generation();
    const untouched = prior !== undefined && generation !== undefined && generation === prior.generation;
    const beforeText = untouched ? prior.text : await this.nft.listTableText(this.table);
    if (prior !== undefined && (untouched || (beforeText !== undefined && beforeText === prior.text))) {
      await this.replace(rendered);
      return { written: true, drift: [] };
    }
    const before = beforeText === undefined ? undefined : parseListing(beforeText);
    // nft's JSON leaves the table's comment out; its text has it.
    const sameTenants =
      prior === undefined && before !== undefined && fingerprintIn(await this.nft.run(`list table inet ${this.table}`)) === fingerprintIn(rendered);
    await this.replace(rendered);
    if (prior !== undefined) {
      return {
        written: true,
        drift: before === undefined ? [`table inet ${this.table} is missing`] : diffListing(appliedListing(prior), normaliseListing(before)),
      };
    }
    if (before !== undefined && sameTenants) return { written: true, drift: diffListing(appliedListing(this.applied!), normaliseListing(before)) };
    return { written: true, drift: [] };
  }

  private async replace(rendered: string): Promise<void> {
    // "table; delete table; table {…}" in one buffer is one transaction: no moment without rules.
    await this.nft.run(`table inet ${this.table}\ndelete table inet ${this.table}\n${rendered}`);
    // Read before the listing, as above: another commit while it lists makes the next pass list again.
    const generation = this.generation();
    this.applied = { rendered, generation, text: await this.nft.listTableText(this.table) };
  }

  /** undefined when it cannot be read (then every pass lists, as before there was one) */
  private generation(): number | undefined {
    try {
      return this.nft.generation();
    } catch {
      return undefined;
    }
  }
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

export async function removeFirewall(table = FIREWALL_TABLE, nft: Nftables = new Nftables()): Promise<void> {
  // Deleting a table that is not there is done.
  if ((await nft.listTable(table)) !== undefined) await nft.run(`delete table inet ${table}`);
}
