import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetworkView } from './observe';
import { pairedWith } from './tenant-link';

// What gv_net_observe printed inside a tenant namespace and on the host end (kernel 6.18, veth, tbf 8mbit).
const TENANT = `disable_ipv6 lo 0
disable_ipv6 eth0 1
link 1 lo up
addr 1 inet 127.0.0.1/8
qdisc 1 noqueue root 0
link 2 eth0 up
peer 2 947 0
addr 2 inet 10.242.3.1/31
qdisc 2 noqueue root 0
route inet default 10.242.3.0
`;
const HOST = `disable_ipv6 gvscaletest 0
link 947 gvscaletest down
peer 947 2 3
addr 947 inet 10.242.3.0/31
addr 947 inet6 fe80::28db:f0ff:fef3:a3b9/64
qdisc 947 tbf root 1000000
qdisc 947 ingress ingress 0
police 947 625000
`;

describe('reading a network namespace over netlink', () => {
  it('gives each link its state, addresses and IPv6 switch, and the default routes', () => {
    const view = parseNetworkView(TENANT);
    assert.deepEqual(view.links.get('eth0'), {
      index: 2,
      name: 'eth0',
      up: true,
      addresses: [{ family: 'inet', local: '10.242.3.1', prefix: 31 }],
      qdiscs: [{ kind: 'noqueue', parent: 'root', rate: 0 }],
      ipv6Disabled: true,
      peer: { index: 947, nsid: 0 },
    });
    assert.equal(view.links.get('lo')?.ipv6Disabled, false);
    assert.equal(view.links.get('lo')?.peer, undefined);
    assert.deepEqual(view.defaultRoutes, { inet: ['10.242.3.0'], inet6: [] });
  });

  it('gives the host end its tbf rate in bytes per second and its ingress qdisc, and a down link as down', () => {
    const link = parseNetworkView(HOST).links.get('gvscaletest');
    assert.equal(link?.up, false);
    assert.deepEqual(link?.qdiscs, [
      { kind: 'tbf', parent: 'root', rate: 1_000_000 },
      { kind: 'ingress', parent: 'ingress', rate: 0 },
    ]);
    assert.equal(link?.addresses.length, 2);
  });

  it('gives the host end the police rate of its ingress filter in bytes per second, and none to a link without one', () => {
    assert.equal(parseNetworkView(HOST).links.get('gvscaletest')?.police, 625_000);
    assert.equal(parseNetworkView(TENANT).links.get('eth0')?.police, undefined);
  });

  it('pairs a host end with eth0 only when each is the other end and the host end leads into the tenant namespace', () => {
    const host = parseNetworkView(HOST).links.get('gvscaletest')!;
    const eth0 = parseNetworkView(TENANT).links.get('eth0');
    assert.equal(pairedWith(host, eth0, 3), true);
    // The host end leads into namespace 3, an old one; the tenant namespace now is 5 (or has no id yet: -1).
    assert.equal(pairedWith(host, eth0, 5), false);
    assert.equal(pairedWith(host, eth0, -1), false);
    // A new namespace has no eth0 yet, or one that is the end of another pair.
    assert.equal(pairedWith(host, undefined, 3), false);
    assert.equal(pairedWith(host, { ...eth0!, peer: { index: 948, nsid: 0 } }, 3), false);
    assert.equal(pairedWith({ ...host, peer: undefined }, eth0, 3), false);
  });

  it('has no entry for a link that does not exist', () => {
    assert.equal(parseNetworkView('').links.size, 0);
  });
});
