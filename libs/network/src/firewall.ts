import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Nftables, NftablesError, parseListing } from './nftables';

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
 * The named sets that hold every tenant's part of the table, and the type of each: the chains never name a
 * tenant, so a packet costs a few hash lookups whatever the number of tenants, and a tenant's arrival or
 * departure is a handful of elements added or deleted in one transaction.
 */
const SETS = {
  /** every tenant link */
  links: 'ifname',
  /** the links that have IPv6 addresses (IPv6 from any other tenant link is dropped) */
  links6: 'ifname',
  /** the links of tenants that opted in to the outside */
  outside: 'ifname',
  /** a link and the one IPv4 source address it may send from */
  guard4: 'ifname . ipv4_addr',
  /** a link and its IPv6 source address (link-local sources are let through for neighbour discovery) */
  guard6: 'ifname . ipv6_addr',
  /** a link and its gateway's IPv4 address: the one echo request it may send to the host */
  ping4: 'ifname . ipv4_addr',
  ping6: 'ifname . ipv6_addr',
  /** the addresses masqueraded towards the outside */
  outside4: 'ipv4_addr',
  outside6: 'ipv6_addr',
} as const;
type SetName = keyof typeof SETS;
const SET_NAMES = Object.keys(SETS) as SetName[];

/** One element of a set: its parts (an interface name, an address), and the link of the tenant it is for. */
interface SetElement {
  parts: readonly string[];
  link: string;
}

/** The table as data: each set's elements by key (the parts), and whether the nat chain is there. */
export interface FirewallModel {
  sets: Record<SetName, ReadonlyMap<string, SetElement>>;
  /** the postrouting chain, there only while a tenant may reach the outside (no nat hook otherwise) */
  nat: boolean;
}

const elementKey = (parts: readonly string[]): string => JSON.stringify(parts);

/** A tenant's elements: its link, its addresses, and whether it may reach the outside, as set elements. */
function tenantElements(t: FirewallTenant): Array<{ set: SetName; parts: string[] }> {
  const link = t.hostInterface;
  return [
    { set: 'links', parts: [link] },
    { set: 'guard4', parts: [link, t.tenantAddress] },
    { set: 'ping4', parts: [link, t.hostAddress] },
    ...(t.ipv6
      ? [
          { set: 'links6' as const, parts: [link] },
          { set: 'guard6' as const, parts: [link, t.ipv6.tenantAddress] },
          { set: 'ping6' as const, parts: [link, t.ipv6.hostAddress] },
        ]
      : []),
    ...(t.outside
      ? [
          { set: 'outside' as const, parts: [link] },
          { set: 'outside4' as const, parts: [t.tenantAddress] },
        ]
      : []),
    ...(t.outside && t.ipv6 ? [{ set: 'outside6' as const, parts: [t.ipv6.tenantAddress] }] : []),
  ];
}

/** Every tenant's elements, by set. */
export function firewallModel(tenants: Iterable<FirewallTenant>): FirewallModel {
  const sets = Object.fromEntries(SET_NAMES.map((name) => [name, new Map<string, SetElement>()])) as Record<SetName, Map<string, SetElement>>;
  for (const t of tenants) for (const { set, parts } of tenantElements(t)) sets[set].set(elementKey(parts), { parts, link: t.hostInterface });
  return { sets, nat: sets.outside.size > 0 };
}

/** An element in nft's syntax: interface names quoted, addresses as they are, concatenations joined by " . ". */
function elementText(set: SetName, parts: readonly string[]): string {
  const types = SETS[set].split(' . ');
  return parts.map((part, i) => (types[i] === 'ifname' ? JSON.stringify(part) : part)).join(' . ');
}

/**
 * The chains: each hook's rules, the same for any number of tenants. By default a tenant reaches nothing on
 * the host but its gateway's ICMP echo, nothing of another tenant, and nothing beyond; replies to connections
 * the host opened are let through. Packets from a tenant link must carry the tenant's own address. IPv6 on a
 * tenant link is dropped unless the link has IPv6 addresses. A tenant that opted in to the outside is
 * forwarded to any interface that is not a tenant link, and masqueraded behind the host's address there. The
 * rules name this governor's sets only, so that two governors (or two test runs) on one host each guard their
 * own tenants without touching the other's.
 */
function chains(nat: boolean): string[] {
  return [
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    iifname @links iifname . ip saddr != @guard4 drop',
    '    iifname @links meta nfproto ipv6 iifname != @links6 drop',
    '    iifname @links6 ip6 saddr != fe80::/10 iifname . ip6 saddr != @guard6 drop',
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    '    iifname @links ct state established,related accept',
    '    icmp type echo-request iifname . ip daddr @ping4 accept',
    '    icmpv6 type echo-request iifname . ip6 daddr @ping6 accept',
    `    iifname @links6 icmpv6 type ${NEIGHBOUR_DISCOVERY} accept`,
    '    iifname @links drop',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    '    iifname @links oifname @links drop',
    '    iifname @outside accept',
    '    iifname @links drop',
    '    oifname @links ct state established,related accept',
    '    oifname @links drop',
    '  }',
    ...(nat
      ? [
          '  chain postrouting {',
          '    type nat hook postrouting priority srcnat; policy accept;',
          '    ip saddr @outside4 oifname != @links masquerade',
          '    ip6 saddr @outside6 oifname != @links masquerade',
          '  }',
        ]
      : []),
  ];
}

const TABLE_COMMENT = 'managed by Governor: a hand edit is put back within a resync';

/** The whole table in nft's syntax, for one transaction that replaces it. */
export function renderTable(model: FirewallModel, table = FIREWALL_TABLE): string {
  const sets = SET_NAMES.map((name) => {
    const elements = [...model.sets[name].values()].map((e) => elementText(name, e.parts));
    return `  set ${name} {\n    type ${SETS[name]}\n${elements.length === 0 ? '' : `    elements = { ${elements.join(', ')} }\n`}  }`;
  });
  return `table inet ${table} {\n  comment "${TABLE_COMMENT}"\n${[...sets, ...chains(model.nat)].join('\n')}\n}\n`;
}

/** The one nftables table Governor owns (inet <table>), with these tenants in it. */
export function renderFirewall(tenants: readonly FirewallTenant[], table = FIREWALL_TABLE): string {
  return renderTable(firewallModel(tenants), table);
}

/** What a tenant's entry puts in the table: two entries with the same key have the same elements. */
const entryKey = (t: FirewallTenant): string =>
  `${t.hostInterface} ${t.hostAddress} ${t.tenantAddress} ${t.ipv6?.hostAddress ?? '-'} ${t.ipv6?.tenantAddress ?? '-'} ${t.outside}`;

const anyOutside = (tenants: ReadonlyMap<string, FirewallTenant>): boolean => {
  for (const t of tenants.values()) if (t.outside) return true;
  return false;
};

/**
 * The commands that take the table from one set of tenants (by link) to another, as one transaction: each set's
 * gone elements deleted, then its new ones added; only the tenants that came, went or changed are looked at
 * beyond their key. undefined when nothing differs; { replace: true } when the nat chain comes or goes (the first tenant
 * to opt in to the outside, or the last to leave), which the whole table's replace does.
 */
export function renderDelta(
  from: ReadonlyMap<string, FirewallTenant>,
  to: ReadonlyMap<string, FirewallTenant>,
  table = FIREWALL_TABLE,
): string | { replace: true } | undefined {
  const gone = new Map<SetName, string[]>();
  const come = new Map<SetName, string[]>();
  const put = (into: Map<SetName, string[]>, set: SetName, parts: readonly string[]) => into.set(set, [...(into.get(set) ?? []), elementText(set, parts)]);
  const change = (before: FirewallTenant | undefined, after: FirewallTenant | undefined) => {
    const old = before === undefined ? [] : tenantElements(before);
    const now = after === undefined ? [] : tenantElements(after);
    const has = (list: typeof old, e: (typeof old)[number]) => list.some((o) => o.set === e.set && elementKey(o.parts) === elementKey(e.parts));
    for (const e of old) if (!has(now, e)) put(gone, e.set, e.parts);
    for (const e of now) if (!has(old, e)) put(come, e.set, e.parts);
  };
  for (const [link, after] of to) {
    const before = from.get(link);
    // The same entry object (a tenant not reconciled since) needs no key: most of them, in a pass.
    if (before !== after && (before === undefined || entryKey(before) !== entryKey(after))) change(before, after);
  }
  for (const [link, before] of from) if (!to.has(link)) change(before, undefined);
  if (gone.size === 0 && come.size === 0) return undefined;
  if (anyOutside(from) !== anyOutside(to)) return { replace: true };
  const commands = [
    ...SET_NAMES.flatMap((set) => (gone.has(set) ? [`delete element inet ${table} ${set} { ${gone.get(set)!.join(', ')} }`] : [])),
    ...SET_NAMES.flatMap((set) => (come.has(set) ? [`add element inet ${table} ${set} { ${come.get(set)!.join(', ')} }`] : [])),
  ];
  return `${commands.join('\n')}\n`;
}

/** What one look at the table did: whether it was written, and what a hand edit had changed. */
export interface FirewallOutcome {
  written: boolean;
  /** what differed from what Governor applied (rules, chains, sets, their elements); empty unless drift */
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
 * An `nft -j list table` listing in comparable form: one string per table, chain, set and rule, in order,
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
 * A listing split in two: the shape (the table, each chain with its rules in order, each set's declaration:
 * what the governor learns in the kernel's own form after a replace) and each set's elements (compared by
 * meaning with the model, since they change with every tenant and are not listed again after each change).
 */
interface TableView {
  shape: Map<string, string[]>;
  elements: Map<string, Map<string, readonly string[]>>;
}

function viewOf(items: readonly unknown[]): TableView {
  const shape = new Map<string, string[]>();
  const elements = new Map<string, Map<string, readonly string[]>>();
  const entry = (key: string, normalised: string) => {
    const entries = shape.get(key);
    if (entries === undefined) shape.set(key, [normalised]);
    else entries.push(normalised);
  };
  for (const item of items) {
    if (item === null || typeof item !== 'object' || 'metainfo' in item) continue;
    const [kind, body] = Object.entries(item as Record<string, Record<string, unknown>>)[0] ?? [];
    if (kind === undefined || body === undefined) continue;
    if (kind === 'set' || kind === 'map') {
      const { elem, ...declaration } = body;
      entry(`${kind} ${String(body.name)}`, normaliseListing([{ [kind]: declaration }])[0]);
      const parts = (Array.isArray(elem) ? elem : []).map((e: unknown) =>
        typeof e === 'string' ? [e] : e !== null && typeof e === 'object' && 'concat' in e && Array.isArray(e.concat) ? e.concat.map(String) : [canonical(e)],
      );
      elements.set(String(body.name), new Map(parts.map((p) => [elementKey(p), p])));
    } else if (kind === 'rule') entry(`chain ${String(body.chain)}`, normaliseListing([item])[0]);
    else if (kind === 'chain') entry(`chain ${String(body.name)}`, normaliseListing([item])[0]);
    else entry(kind, normaliseListing([item])[0]);
  }
  return { shape, elements };
}

/**
 * What a listing has that the table applied does not, or lacks: the shape against the kernel's form learned
 * after the last replace, each set's elements against the model. An element is told with its tenant's link
 * when the model knows it, so that tenantsInDrift counts the tenant whose filter changed.
 */
function tableDrift(shape: ReadonlyMap<string, readonly string[]>, model: FirewallModel, listing: readonly unknown[]): string[] {
  const now = viewOf(listing);
  const drift: string[] = [];
  for (const key of new Set([...shape.keys(), ...now.shape.keys()])) {
    const wanted = shape.get(key);
    const current = now.shape.get(key);
    if (wanted === undefined) drift.push(`${key} is not Governor's: ${current!.join(' ')}`);
    else if (current === undefined) drift.push(`${key} is missing`);
    else drift.push(...diffListing(wanted, current));
  }
  for (const set of SET_NAMES) {
    const wanted = model.sets[set];
    const current = now.elements.get(set);
    if (current === undefined) continue; // a set that is gone is drift of the shape already
    for (const [key, element] of wanted) {
      if (!current.has(key)) drift.push(`set ${set} lacks ${elementText(set, element.parts)} (link ${JSON.stringify(element.link)})`);
    }
    for (const [key, parts] of current) if (!wanted.has(key)) drift.push(`set ${set} has ${elementText(set, parts)}, which no tenant has`);
  }
  return drift;
}

/**
 * The tenants a firewall drift touched, for governor_drift_corrections_total: those whose link a differing
 * entry names; every tenant when none is named (a shared rule, a chain or the whole table went), since all
 * lost their filter.
 */
export function tenantsInDrift(drift: readonly string[], tenants: ReadonlyMap<string, FirewallTenant>): string[] {
  if (drift.length === 0) return [];
  const all = [...tenants.entries()];
  const named = all.filter(([, t]) => drift.some((entry) => entry.includes(JSON.stringify(t.hostInterface)))).map(([name]) => name);
  return named.length > 0 ? named : all.map(([name]) => name);
}

/**
 * Governor's nftables table, kept by content. The chains are the same for any number of tenants; each tenant
 * is a few elements of named sets (see SETS). A new governor replaces the table as a whole in one transaction,
 * then lists it once to learn the kernel's own form of its chains (nft reads rules back normalised: sets
 * sorted, "!=" spelled out, prefixes merged). After that, a tenant that comes or goes is a delta: its elements
 * added or deleted in one small transaction, whose cost does not grow with the other tenants (no listing, no
 * parse of the others' rules). Each pass reads the ruleset generation first (one netlink round trip): every
 * committed transaction of any table bumps it, so when it is where this governor's own last commit or last
 * listing in sync left it, the table is as it was left and nothing is listed. Otherwise the table is listed
 * (in process, through libnftables) and compared: the chains with the learned form, each set's elements with
 * the tenants; a listing that is the very text of the last one in sync (handles and all: a rule replaced by
 * hand gets new ones) is in sync without parsing it, which is what a host whose other tables change costs.
 * Any difference, even an `accept` put over a `drop` or one element deleted, is repaired by replacing the
 * whole table; a delta the kernel refuses (an element gone that the governor would delete) is too.
 */
/** How many times a replace is tried until no other commit falls between it and its listing. */
const REPLACE_TRIES = 3;

interface Applied {
  /** the tenants in the table, by link */
  tenants: ReadonlyMap<string, FirewallTenant>;
  shape: ReadonlyMap<string, readonly string[]>;
  generation: number | undefined;
  text: string | undefined;
}

export class TenantFirewall {
  /**
   * what was applied, the kernel's form of its chains and set declarations, and the ruleset generation and
   * text of the last listing (or own commit) that matched it
   */
  private applied: Applied | undefined;

  constructor(
    readonly table: string = FIREWALL_TABLE,
    private readonly nft: Nftables = new Nftables(),
  ) {}

  async ensure(tenants: readonly FirewallTenant[]): Promise<FirewallOutcome> {
    const wanted = new Map(tenants.map((t) => [t.hostInterface, t]));
    const applied = this.applied;
    if (applied === undefined) return this.start(wanted);
    // Read before the listing: a transaction committed while it lists bumps it past what is kept below.
    const generation = this.generation();
    if (generation === undefined || generation !== applied.generation) {
      const text = await this.nft.listTableText(this.table);
      if (text === undefined || text !== applied.text) {
        const drift =
          text === undefined ? [`table inet ${this.table} is missing`] : tableDrift(applied.shape, firewallModel(applied.tenants.values()), parseListing(text));
        if (drift.length > 0) {
          await this.replace(wanted);
          return { written: true, drift };
        }
      }
      applied.generation = generation;
      applied.text = text;
    }
    const delta = renderDelta(applied.tenants, wanted, this.table);
    if (delta === undefined) return { written: false, drift: [] };
    if (typeof delta === 'object') {
      await this.replace(wanted);
      return { written: true, drift: [] };
    }
    try {
      await this.nft.run(delta);
    } catch (err) {
      // The kernel's sets are not what was applied (an element deleted by hand since the generation was
      // read): the whole table is put right instead, and the next look finds it in sync.
      if (!(err instanceof NftablesError)) throw err;
      await this.replace(wanted);
      return { written: true, drift: [`the delta was refused (${err.detail.trim().split('\n')[0] ?? ''}): the table was replaced`] };
    }
    // Each committed transaction bumps the generation by one. One past the generation found in sync above means
    // this delta was the only commit since: unmoved at the next pass, nothing else committed. Anything else (a
    // hand edit just before or just after the delta) leaves it unknown, so the next pass lists and compares.
    const after = this.generation();
    const own = generation !== undefined && after === generation + 1;
    this.applied = { tenants: wanted, shape: applied.shape, generation: own ? after : undefined, text: undefined };
    return { written: true, drift: [] };
  }

  /**
   * A governor's first look: the table is replaced as a whole (its kernel form is not known yet). A hand edit
   * made while no governor ran is counted when the table left behind holds the same tenant links, since a
   * difference is then not the tenants' own; when they changed meanwhile it cannot be told from theirs.
   */
  private async start(wanted: ReadonlyMap<string, FirewallTenant>): Promise<FirewallOutcome> {
    const beforeText = await this.nft.listTableText(this.table);
    const applied = await this.replace(wanted);
    if (beforeText === undefined) return { written: true, drift: [] };
    const before = parseListing(beforeText);
    const links = viewOf(before).elements.get('links');
    const sameLinks = links !== undefined && links.size === wanted.size && [...links.values()].every(([link]) => link !== undefined && wanted.has(link));
    return { written: true, drift: sameLinks ? tableDrift(applied.shape, firewallModel(wanted.values()), before) : [] };
  }

  /**
   * Replaces the table and learns its kernel form from one listing. A commit of anyone else between the replace
   * and the listing (the generation not exactly one past the one before the replace, or moving during the
   * listing) could put a hand edit into what is learned as the applied form, where no later comparison would
   * see it: the replace is then done again, up to REPLACE_TRIES times, after which the generation is left
   * unknown so that the next pass lists again.
   */
  private async replace(wanted: ReadonlyMap<string, FirewallTenant>): Promise<Applied> {
    const rendered = renderTable(firewallModel(wanted.values()), this.table);
    for (let attempt = 1; ; attempt += 1) {
      const before = this.generation();
      // "table; delete table; table {…}" in one buffer is one transaction: no moment without rules.
      await this.nft.run(`table inet ${this.table}\ndelete table inet ${this.table}\n${rendered}`);
      const generation = this.generation();
      const text = await this.nft.listTableText(this.table);
      const alone = before !== undefined && generation === before + 1 && this.generation() === generation;
      if (alone || attempt === REPLACE_TRIES) {
        const shape = viewOf(text === undefined ? [] : parseListing(text)).shape;
        this.applied = { tenants: wanted, shape, generation: alone ? generation : undefined, text };
        return this.applied;
      }
    }
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
