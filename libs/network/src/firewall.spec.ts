import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  diffListing,
  ensureForwarding,
  normaliseListing,
  renderFirewall,
  TenantFirewall,
  tenantsInDrift,
  type FirewallOutcome,
  type FirewallTenant,
} from './firewall';
import type { Nftables } from './nftables';

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
  it('guards each link against spoofing, and drops IPv6 on links without IPv6 addresses', () => {
    const text = rules(renderFirewall([a, b], 'gov'));
    assert.ok(text.includes('iifname "gv0000000001" ip saddr != 10.200.0.1 drop'));
    assert.ok(text.includes('iifname "gv0000000001" meta nfproto ipv6 drop'));
    assert.ok(text.includes('iifname "gv0000000002" ip6 saddr != { fd00::ac8:3, fe80::/10 } drop'));
    assert.ok(!text.includes('iifname "gv0000000002" meta nfproto ipv6 drop'));
  });

  it('lets a link reach the host only for its gateway echo (and IPv6 neighbour discovery where it has IPv6)', () => {
    const text = rules(renderFirewall([a, b], 'gov'));
    const input = text.slice(text.indexOf('chain input {'), text.indexOf('chain forward {'));
    assert.deepEqual(input.slice(2, -1), [
      'iifname { "gv0000000001", "gv0000000002" } ct state established,related accept',
      'iifname "gv0000000001" ip daddr 10.200.0.0 icmp type echo-request accept',
      'iifname "gv0000000002" ip daddr 10.200.0.2 icmp type echo-request accept',
      'iifname "gv0000000002" ip6 daddr fd00::ac8:2 icmpv6 type echo-request accept',
      'iifname "gv0000000002" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept',
      'iifname { "gv0000000001", "gv0000000002" } drop',
    ]);
  });

  it('forwards only opted-in tenants, never between tenants, and masquerades them', () => {
    const text = rules(renderFirewall([a, b], 'gov'));
    const forward = text.slice(text.indexOf('chain forward {'), text.indexOf('chain postrouting {'));
    assert.deepEqual(forward.slice(2, -1), [
      'iifname { "gv0000000001", "gv0000000002" } oifname { "gv0000000001", "gv0000000002" } drop',
      'iifname "gv0000000002" accept',
      'iifname { "gv0000000001", "gv0000000002" } drop',
      'oifname { "gv0000000001", "gv0000000002" } ct state established,related accept',
      'oifname { "gv0000000001", "gv0000000002" } drop',
    ]);
    assert.ok(text.includes('ip saddr { 10.200.0.3 } oifname != { "gv0000000001", "gv0000000002" } masquerade'));
    assert.ok(text.includes('ip6 saddr { fd00::ac8:3 } oifname != { "gv0000000001", "gv0000000002" } masquerade'));
  });

  it('has no nat chain while no tenant opted in, and a new fingerprint when one does', () => {
    const closed = renderFirewall([a, { ...b, outside: false }], 'gov');
    assert.ok(!closed.includes('postrouting'));
    assert.notEqual(/comment "([^"]+)"/.exec(closed)?.[1], /comment "([^"]+)"/.exec(renderFirewall([a, b], 'gov'))?.[1]);
  });

  it('renders an empty table with its chains when there are no tenants', () => {
    const text = renderFirewall([], 'gov');
    assert.match(text, /^table inet gov \{/);
    assert.ok(!/iifname|oifname/.test(text));
  });

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
 * The kernel's side of libnftables for TenantFirewall: a table applied as one transaction, listed as JSON
 * (one entry a rule line, without the comment, as nft's JSON leaves it out) and as text (with it).
 */
class FakeNftables implements Pick<Nftables, 'run' | 'listTableText' | 'generation'> {
  text: string | undefined;
  entries: unknown[] | undefined;
  /** the kernel's ruleset generation: every transaction bumps it */
  committed = 0;
  listings = 0;

  generation(): number {
    return this.committed;
  }

  run(commands: string): Promise<string> {
    if (commands.startsWith('list table')) {
      if (this.text === undefined) return Promise.reject(new Error('No such file or directory'));
      return Promise.resolve(this.text);
    }
    this.committed += 1;
    this.text = commands.split('\n').slice(2).join('\n');
    this.entries = this.text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('comment'))
      // As nft's JSON names a link: a string of its own.
      .map((line) => ({ rule: { expr: line.replace(/"/g, '').split(' ') } }));
    return Promise.resolve('');
  }

  listTableText(): Promise<string | undefined> {
    this.listings += 1;
    return Promise.resolve(this.entries && JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, ...this.entries] }));
  }

  /** A hand edit that changes nothing but the handle: the first rule that names the link, deleted and put back. */
  replaceRuleOf(hostInterface: string): void {
    this.committed += 1;
    const at = this.entries!.findIndex((entry) => JSON.stringify(entry).includes(hostInterface));
    const { rule } = this.entries![at] as { rule: Record<string, unknown> };
    this.entries![at] = { rule: { ...rule, handle: this.committed } };
  }

  /** A hand edit: the first rule that names the link goes. */
  deleteRuleOf(hostInterface: string): void {
    this.committed += 1;
    const at = this.entries!.findIndex((entry) => JSON.stringify(entry).includes(hostInterface));
    this.entries!.splice(at, 1);
  }
}

describe('keeping the firewall table by content', () => {
  const firewall = (nft: FakeNftables) => new TenantFirewall('gov', nft as unknown as Nftables);
  /** The tenants whose rules an outcome's drift names. */
  const drifted = (outcome: FirewallOutcome, tenants: Record<string, FirewallTenant>) => tenantsInDrift(outcome.drift, new Map(Object.entries(tenants)));

  it('counts a rule removed by hand even when the same pass adds a tenant to the table', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    assert.deepEqual(await kept.ensure([a]), { written: true, drift: [] });
    nft.deleteRuleOf(a.hostInterface);
    const outcome = await kept.ensure([a, b]);
    assert.equal(outcome.written, true);
    assert.deepEqual(drifted(outcome, { alpha: a, beta: b }), ['alpha']);
  });

  it('counts a rule removed by hand before this governor started, when the table was rendered from the same tenants', async () => {
    const nft = new FakeNftables();
    await firewall(nft).ensure([a, b]);
    nft.deleteRuleOf(b.hostInterface);
    const outcome = await firewall(nft).ensure([a, b]);
    assert.deepEqual(drifted(outcome, { alpha: a, beta: b }), ['beta']);
  });

  it('counts nothing at start when the tenants changed meanwhile, since a difference is then theirs', async () => {
    const nft = new FakeNftables();
    await firewall(nft).ensure([a]);
    assert.deepEqual(await firewall(nft).ensure([a, b]), { written: true, drift: [] });
    assert.deepEqual(await firewall(new FakeNftables()).ensure([a]), { written: true, drift: [] });
  });

  it('lists the table only when a transaction was committed since the last listing in sync, and still repairs a hand edit', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    await kept.ensure([a, b]);
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    const listings = nft.listings;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    assert.equal(nft.listings, listings);
    // Another table's transaction: listed once, found in sync, then quiet again.
    nft.committed += 1;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    assert.equal(nft.listings, listings + 1);
    await kept.ensure([a, b]);
    assert.equal(nft.listings, listings + 1);
    nft.deleteRuleOf(a.hostInterface);
    const outcome = await kept.ensure([a, b]);
    assert.equal(outcome.written, true);
    assert.deepEqual(drifted(outcome, { alpha: a, beta: b }), ['alpha']);
  });

  it("adds a tenant without listing the others' rules first when nothing was committed since, and still finds a hand edit made meanwhile", async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    await kept.ensure([a]);
    const listings = nft.listings;
    assert.deepEqual(await kept.ensure([a, b]), { written: true, drift: [] });
    assert.equal(nft.listings, listings + 1, 'only the listing of the table just applied, to learn its kernel form');
    nft.deleteRuleOf(b.hostInterface);
    const c: FirewallTenant = { hostInterface: 'gv0000000003', hostAddress: '10.200.0.4', tenantAddress: '10.200.0.5', outside: false };
    const outcome = await kept.ensure([a, b, c]);
    assert.equal(nft.listings, listings + 3, 'a commit since: the table as it stands is listed before the apply');
    assert.deepEqual(drifted(outcome, { alpha: a, beta: b, gamma: c }), ['beta']);
  });

  it('takes a listing of the same text as the last one in sync for in sync, and one that differs only in handles too', async () => {
    const nft = new FakeNftables();
    const kept = firewall(nft);
    await kept.ensure([a, b]);
    // Another table's transaction: the listing's text is the one kept, so nothing differs.
    nft.committed += 1;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    // A rule deleted and put back by hand: its handle is new, its content the same (a rule whose content changed
    // is drift whatever text was kept: the test above).
    nft.replaceRuleOf(b.hostInterface);
    const committed = nft.committed;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    nft.committed += 1;
    assert.deepEqual(await kept.ensure([a, b]), { written: false, drift: [] });
    assert.equal(nft.committed, committed + 1);
  });
});
