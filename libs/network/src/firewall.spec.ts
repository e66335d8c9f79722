import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  diffListing,
  ensureForwarding,
  firewallModel,
  normaliseListing,
  renderDelta,
  renderFirewall,
  TenantFirewall,
  tenantsInDrift,
  type FirewallModel,
  type FirewallOutcome,
  type FirewallTenant,
} from './firewall';
import { type Nftables, NftablesError } from './nftables';

const a: FirewallTenant = { hostInterface: 'gv0000000001', hostAddress: '10.200.0.0', tenantAddress: '10.200.0.1', outside: false };
const b: FirewallTenant = {
  hostInterface: 'gv0000000002',
  hostAddress: '10.200.0.2',
  tenantAddress: '10.200.0.3',
  outside: true,
  ipv6: { hostAddress: 'fd00::ac8:2', tenantAddress: 'fd00::ac8:3' },
};
const rules = (text: string) => text.split('\n').map((line) => line.trim());

describe('the firewall table', () => {
  const model = firewallModel([a, b]);
  const keys = (set: keyof FirewallModel['sets']) => [...model.sets[set].values()].map((e) => e.parts.join(' . '));

  it('holds each tenant as elements of named sets: its link, its own source address, its gateway', () => {
    assert.deepEqual(keys('links'), ['gv0000000001', 'gv0000000002']);
    assert.deepEqual(keys('guard4'), ['gv0000000001 . 10.200.0.1', 'gv0000000002 . 10.200.0.3']);
    assert.deepEqual(keys('ping4'), ['gv0000000001 . 10.200.0.0', 'gv0000000002 . 10.200.0.2']);
    assert.deepEqual(keys('links6'), ['gv0000000002'], 'only the link with IPv6 addresses may send IPv6');
    assert.deepEqual(keys('guard6'), ['gv0000000002 . fd00::ac8:3']);
    assert.deepEqual(keys('ping6'), ['gv0000000002 . fd00::ac8:2']);
    assert.deepEqual(keys('outside'), ['gv0000000002']);
    assert.deepEqual(keys('outside4'), ['10.200.0.3']);
    assert.deepEqual(keys('outside6'), ['fd00::ac8:3']);
  });

  it('renders chains that name no tenant, so a packet costs the same few lookups at any number of tenants', () => {
    const text = renderFirewall([a, b], 'gov');
    const chainText = text.slice(text.indexOf('  chain prerouting'));
    assert.ok(!chainText.includes('gv0000'), 'no link named in a rule');
    const alone = renderFirewall([b], 'gov');
    assert.equal(chainText, alone.slice(alone.indexOf('  chain prerouting')), 'the same chains with one tenant as with two');
    const input = rules(text.slice(text.indexOf('chain input {'), text.indexOf('chain forward {')));
    assert.deepEqual(input.slice(2, -2), [
      'iifname @links ct state established,related accept',
      'icmp type echo-request iifname . ip daddr @ping4 accept',
      'icmpv6 type echo-request iifname . ip6 daddr @ping6 accept',
      'iifname @links6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept',
      'iifname @links drop',
    ]);
    assert.ok(text.includes('elements = { "gv0000000001" . 10.200.0.1, "gv0000000002" . 10.200.0.3 }'));
  });

  it('guards each link against spoofing, and drops IPv6 on links without IPv6 addresses', () => {
    const text = rules(renderFirewall([a, b], 'gov'));
    const prerouting = text.slice(text.indexOf('chain prerouting {'), text.indexOf('chain input {'));
    assert.deepEqual(prerouting.slice(2, -1), [
      'iifname @links iifname . ip saddr != @guard4 drop',
      'iifname @links meta nfproto ipv6 iifname != @links6 drop',
      'iifname @links6 ip6 saddr != fe80::/10 iifname . ip6 saddr != @guard6 drop',
    ]);
  });

  it('forwards only opted-in tenants, never between tenants, and masquerades them', () => {
    const text = rules(renderFirewall([a, b], 'gov'));
    const forward = text.slice(text.indexOf('chain forward {'), text.indexOf('chain postrouting {'));
    assert.deepEqual(forward.slice(2, -1), [
      'iifname @links oifname @links drop',
      'iifname @outside accept',
      'iifname @links drop',
      'oifname @links ct state established,related accept',
      'oifname @links drop',
    ]);
    assert.ok(text.includes('ip saddr @outside4 oifname != @links masquerade'));
    assert.ok(text.includes('ip6 saddr @outside6 oifname != @links masquerade'));
  });

  it('has no nat chain while no tenant opted in', () => {
    assert.ok(!renderFirewall([a, { ...b, outside: false }], 'gov').includes('postrouting'));
    assert.equal(firewallModel([a, { ...b, outside: false }]).nat, false);
  });

  it('renders an empty table with its sets and chains when there are no tenants', () => {
    const text = renderFirewall([], 'gov');
    assert.match(text, /^table inet gov \{/);
    assert.ok(!text.includes('elements'));
    assert.ok(text.includes('set guard4 {') && text.includes('chain input {'));
  });
});

describe('a change of tenants as a delta', () => {
  const byLink = (tenants: FirewallTenant[]) => new Map(tenants.map((t) => [t.hostInterface, t]));

  it("adds only the new tenant's elements, whatever the number of others", () => {
    const delta = renderDelta(byLink([a]), byLink([a, { ...b, outside: false }]), 'gov');
    assert.equal(
      delta,
      [
        'add element inet gov links { "gv0000000002" }',
        'add element inet gov links6 { "gv0000000002" }',
        'add element inet gov guard4 { "gv0000000002" . 10.200.0.3 }',
        'add element inet gov guard6 { "gv0000000002" . fd00::ac8:3 }',
        'add element inet gov ping4 { "gv0000000002" . 10.200.0.2 }',
        'add element inet gov ping6 { "gv0000000002" . fd00::ac8:2 }',
        '',
      ].join('\n'),
    );
  });

  it('deletes a gone tenant, and a changed address as one delete and one add', () => {
    assert.equal(
      renderDelta(byLink([a, { ...b, outside: false }]), byLink([{ ...b, outside: false }]), 'gov'),
      [
        'delete element inet gov links { "gv0000000001" }',
        'delete element inet gov guard4 { "gv0000000001" . 10.200.0.1 }',
        'delete element inet gov ping4 { "gv0000000001" . 10.200.0.0 }',
        '',
      ].join('\n'),
    );
    const moved = renderDelta(byLink([a]), byLink([{ ...a, tenantAddress: '10.200.0.9' }]), 'gov');
    assert.equal(moved, 'delete element inet gov guard4 { "gv0000000001" . 10.200.0.1 }\nadd element inet gov guard4 { "gv0000000001" . 10.200.0.9 }\n');
  });

  it('is nothing when nothing changed, and a replace when the nat chain comes or goes', () => {
    assert.equal(renderDelta(byLink([a, b]), byLink([b, a]), 'gov'), undefined);
    assert.deepEqual(renderDelta(byLink([a]), byLink([a, b]), 'gov'), { replace: true });
    assert.deepEqual(renderDelta(byLink([a, b]), byLink([a]), 'gov'), { replace: true });
  });
});

describe('forwarding', () => {
  it('turns forwarding on only for opted-in tenants (IPv6 only when they have it), and never off', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'governor-sys-'));
    mkdirSync(join(proc, 'net/ipv4'), { recursive: true });
    mkdirSync(join(proc, 'net/ipv6/conf/all'), { recursive: true });
    writeFileSync(join(proc, 'net/ipv4/ip_forward'), '0\n');
    writeFileSync(join(proc, 'net/ipv6/conf/all/forwarding'), '0\n');
    assert.deepEqual(await ensureForwarding([a], proc), []);
    assert.deepEqual(await ensureForwarding([a, { ...b, ipv6: undefined }], proc), ['net.ipv4.ip_forward=1']);
    assert.deepEqual(await ensureForwarding([a, b], proc), ['net.ipv6.conf.all.forwarding=1']);
    assert.deepEqual(await ensureForwarding([a], proc), []);
    assert.equal(readFileSync(join(proc, 'net/ipv4/ip_forward'), 'utf8'), '1');
  });
});

/** Entries as `nft -j list table inet gov` prints them (nft 1.0.6), handles included. */
const rule = (handle: number, verdict: 'accept' | 'drop') => ({
  rule: {
    family: 'inet',
    table: 'gov',
    chain: 'input',
    handle,
    expr: [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: { set: ['gv0000000001', 'gv0000000002'] } } }, { [verdict]: null }],
  },
});
const listing = (handle: number, verdict: 'accept' | 'drop') => [
  { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
  { table: { family: 'inet', name: 'gov', handle: 7, comment: 'governor:0123456789abcdef' } },
  { chain: { family: 'inet', table: 'gov', name: 'input', handle: 2, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
  rule(handle, verdict),
];

describe('comparing the firewall by content', () => {
  it('ignores handles, metainfo and key order, which change without any rule changing', () => {
    const applied = normaliseListing(listing(4, 'drop'));
    const relisted = normaliseListing(listing(9, 'drop').map((entry) => Object.fromEntries(Object.entries(entry).reverse())));
    assert.equal(applied.length, 3, 'table, chain and rule; no metainfo');
    assert.deepEqual(diffListing(applied, relisted), []);
  });

  it('sees an accept put in place of a drop, though the count of accepts and drops stays the same', () => {
    const drift = diffListing(normaliseListing(listing(4, 'drop')), normaliseListing(listing(4, 'accept')));
    assert.equal(drift.length, 2, 'the drop that went and the accept that came');
    assert.ok(drift[0]?.includes('"drop"') && drift[1]?.includes('"accept"'));
  });

  it('sees rules that changed places, since a rule position is part of its meaning', () => {
    const wanted = ['a', 'b', 'c'];
    assert.deepEqual(diffListing(wanted, ['a', 'c', 'b']), ['b', 'c']);
    assert.deepEqual(diffListing(wanted, ['a', 'b']), ['c']);
    assert.deepEqual(diffListing(wanted, ['a', 'b', 'c', 'c']), ['c']);
  });

  it('counts drift against the tenants whose links a changed rule names, or all when none is named', () => {
    const tenants = new Map([
      ['alpha', a],
      ['beta', b],
    ]);
    const drift = diffListing(normaliseListing(listing(4, 'drop')), normaliseListing(listing(4, 'accept')));
    assert.deepEqual(tenantsInDrift(drift, tenants), ['alpha', 'beta'], 'the rule names both links');
    assert.deepEqual(tenantsInDrift(['{"rule":{"expr":[{"match":{"right":"gv0000000002"}}]}}'], tenants), ['beta']);
    assert.deepEqual(tenantsInDrift(['table inet gov is missing'], tenants), ['alpha', 'beta']);
    assert.deepEqual(tenantsInDrift([], tenants), []);
  });
});

/**
 * The kernel's side of libnftables for TenantFirewall: a table replaced as a whole or changed by `add element`
 * and `delete element` commands (a delete of an element that is not there is refused, as the kernel does),
 * listed as nft -j lists it: each set with its elements (a concatenation as `concat`), each chain's rules.
 */
class FakeNftables implements Pick<Nftables, 'run' | 'listTableText' | 'generation'> {
  sets: Map<string, string[]> | undefined;
  chains = new Map<string, string[]>();
  /** the kernel's ruleset generation: every transaction bumps it */
  committed = 0;
  listings = 0;
  transactions: string[] = [];
  /** a hand edit that lands right after the next transaction, before the governor can read the generation */
  afterCommit: (() => void) | undefined;

  generation(): number {
    return this.committed;
  }

  run(commands: string): Promise<string> {
    if (commands.startsWith('list table')) throw new Error('listed through listTableText');
    this.transactions.push(commands);
    if (commands.startsWith('table inet')) this.replace(commands);
    else {
      const sets = new Map([...this.sets!].map(([name, elements]) => [name, [...elements]]));
      for (const line of commands.trim().split('\n')) {
        const [, verb, set, list] = /^(add|delete) element inet \S+ (\S+) \{ (.*) \}$/.exec(line)!;
        for (const element of list.split(', ')) {
          const elements = sets.get(set)!;
          if (verb === 'add' && !elements.includes(element)) elements.push(element);
          if (verb === 'delete') {
            if (!elements.includes(element)) return Promise.reject(new NftablesError(commands, 'Error: Could not process rule: No such file or directory'));
            elements.splice(elements.indexOf(element), 1);
          }
        }
      }
      this.sets = sets;
    }
    this.committed += 1;
    const edit = this.afterCommit;
    this.afterCommit = undefined;
    edit?.();
    return Promise.resolve('');
  }

  private replace(commands: string): void {
    this.sets = new Map();
    this.chains = new Map();
    let chain: string | undefined;
    for (const line of commands.split('\n').map((l) => l.trim())) {
      const set = /^set (\S+) \{/.exec(line);
      const opened = /^chain (\S+) \{/.exec(line);
      const elements = /^elements = \{ (.*) \}$/.exec(line);
      if (set) this.sets.set((chain = set[1]!), []);
      else if (opened) this.chains.set((chain = opened[1]!), []);
      else if (elements) this.sets.get(chain!)!.push(...elements[1].split(', '));
      else if (line === '}') chain = undefined;
      else if (chain !== undefined && this.chains.has(chain) && !line.startsWith('type ')) this.chains.get(chain)!.push(line);
    }
  }

  listTableText(): Promise<string | undefined> {
    this.listings += 1;
    if (this.sets === undefined) return Promise.resolve(undefined);
    const element = (text: string) => {
      const parts = text.split(' . ').map((part) => part.replace(/"/g, ''));
      return parts.length === 1 ? parts[0] : { concat: parts };
    };
    const entries = [
      { metainfo: { json_schema_version: 1 } },
      { table: { family: 'inet', name: 'gov', handle: 1 } },
      ...[...this.sets].map(([name, elements]) => ({ set: { name, handle: 2, ...(elements.length === 0 ? {} : { elem: elements.map(element) }) } })),
      ...[...this.chains].flatMap(([name, lines]) => [{ chain: { name } }, ...lines.map((line) => ({ rule: { chain: name, expr: line } }))]),
    ];
    return Promise.resolve(JSON.stringify({ nftables: entries }));
  }

  /** A hand edit: one element of a set deleted. */
  deleteElement(set: string, element: string, options: { commit: boolean } = { commit: true }): void {
    const elements = this.sets!.get(set)!;
    assert.ok(elements.includes(element), `${set} holds ${element}`);
    elements.splice(elements.indexOf(element), 1);
    if (options.commit) this.committed += 1;
  }

  /** A hand edit: a rule of a chain replaced by another (`nft replace rule … accept` over a drop). */
  replaceRule(chain: string, from: string, to: string): void {
    const lines = this.chains.get(chain)!;
    lines[lines.indexOf(from)] = to;
    this.committed += 1;
  }
}

describe('keeping the firewall table by content', () => {
  const firewall = (nft: FakeNftables) => new TenantFirewall('gov', nft as unknown as Nftables);
  /** The tenants whose rules an outcome's drift names. */
  const drifted = (outcome: FirewallOutcome, tenants: Record<string, FirewallTenant>) => tenantsInDrift(outcome.drift, new Map(Object.entries(tenants)));
  const c: FirewallTenant = { hostInterface: 'gv0000000003', hostAddress: '10.200.0.4', tenantAddress: '10.200.0.5', outside: false };

  it('adds a tenant as one small transaction, listing nothing, when nothing was committed since', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    assert.deepEqual(await kept.ensure([a, b]), { written: true, drift: [] });
    const listings = nft.listings;
    assert.deepEqual(await kept.ensure([a, b, c]), { written: true, drift: [] });
    assert.equal(nft.listings, listings, 'no listing: the generation is where the last commit left it');
    assert.ok(!nft.transactions.at(-1)!.includes('gv0000000001'), 'the other tenants are not in the transaction');
    assert.deepEqual(await kept.ensure([a, b, c]), { written: false, drift: [] });
    assert.deepEqual(await kept.ensure([a, c]), { written: true, drift: [] }, 'the nat chain goes: the table is replaced');
    assert.deepEqual(await kept.ensure([c]), { written: true, drift: [] });
    assert.deepEqual(nft.sets!.get('links'), ['"gv0000000003"']);
    assert.equal(nft.listings, listings + 1, 'one listing, to learn the form of the table replaced');
  });

  it('counts an element removed by hand even when the same pass adds a tenant to the table', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    assert.deepEqual(await kept.ensure([a]), { written: true, drift: [] });
    nft.deleteElement('guard4', '"gv0000000001" . 10.200.0.1');
    const outcome = await kept.ensure([a, c]);
    assert.equal(outcome.written, true);
    assert.deepEqual(drifted(outcome, { alpha: a, gamma: c }), ['alpha']);
    assert.ok(nft.sets!.get('guard4')!.includes('"gv0000000001" . 10.200.0.1'), 'put back');
    assert.ok(nft.sets!.get('guard4')!.includes('"gv0000000003" . 10.200.0.5'), 'and the new tenant added');
  });

  it('counts a rule replaced by hand against every tenant, since the rule is theirs in common', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    await kept.ensure([a, c]);
    nft.replaceRule('input', 'iifname @links drop', 'iifname @links accept');
    const outcome = await kept.ensure([a, c]);
    assert.equal(outcome.written, true);
    assert.equal(outcome.drift.length, 2, 'the drop that went and the accept that came');
    assert.deepEqual(drifted(outcome, { alpha: a, gamma: c }), ['alpha', 'gamma']);
    assert.ok(nft.chains.get('input')!.includes('iifname @links drop'));
    assert.deepEqual(await kept.ensure([a, c]), { written: false, drift: [] });
  });

  it('counts an element removed by hand before this governor started, when the table holds the same links', async () => {
    const nft = new FakeNftables();
    await firewall(nft).ensure([a, b]);
    nft.deleteElement('ping6', '"gv0000000002" . fd00::ac8:2');
    const outcome = await firewall(nft).ensure([a, b]);
    assert.deepEqual(drifted(outcome, { alpha: a, beta: b }), ['beta']);
  });

  it('counts nothing at start when the tenants changed meanwhile, since a difference is then theirs', async () => {
    const nft = new FakeNftables();
    await firewall(nft).ensure([a]);
    assert.deepEqual(await firewall(nft).ensure([a, b]), { written: true, drift: [] });
    assert.deepEqual(await firewall(new FakeNftables()).ensure([a]), { written: true, drift: [] });
  });

  it('lists the table only when a transaction was committed since, and takes the same text as the last one in sync for in sync', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    await kept.ensure([a, b]);
    const listings = nft.listings;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    assert.equal(nft.listings, listings);
    // Another table's transaction: listed once, found in sync, then quiet again.
    nft.committed += 1;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    assert.equal(nft.listings, listings + 1);
    nft.committed += 1;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] }, 'the same text: in sync without parsing it');
    await kept.ensure([a, b]);
    assert.equal(nft.listings, listings + 2);
  });

  it('finds a hand edit committed right after its own delta, before it read the generation', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    await kept.ensure([a]);
    nft.afterCommit = () => nft.deleteElement('guard4', '"gv0000000001" . 10.200.0.1');
    assert.deepEqual(await kept.ensure([a, c]), { written: true, drift: [] });
    const outcome = await kept.ensure([a, c]);
    assert.deepEqual(drifted(outcome, { alpha: a, gamma: c }), ['alpha']);
    assert.ok(nft.sets!.get('guard4')!.includes('"gv0000000001" . 10.200.0.1'), 'put back');
  });

  it('replaces the table again when a hand edit lands between its replace and the listing that learns its form', async () => {
    const nft = new FakeNftables();
    nft.afterCommit = () => nft.replaceRule('input', 'iifname @links drop', 'iifname @links accept');
    const kept = firewall(nft);
    await kept.ensure([a]);
    assert.ok(nft.chains.get('input')!.includes('iifname @links drop'), 'the edit did not become the learned form');
    assert.deepEqual(await kept.ensure([a]), { written: false, drift: [] });
  });

  it('replaces the table when the kernel refuses a delta, an element having gone without the generation seen to move', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    await kept.ensure([a, c]);
    nft.deleteElement('links', '"gv0000000003"', { commit: false });
    const outcome = await kept.ensure([a]);
    assert.equal(outcome.written, true);
    assert.match(outcome.drift[0] ?? '', /the delta was refused/);
    assert.deepEqual(nft.sets!.get('links'), ['"gv0000000001"']);
    assert.deepEqual(await kept.ensure([a]), { written: false, drift: [] });
  });
});
