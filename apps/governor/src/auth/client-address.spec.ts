import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddress, clientKey, parseTrustedProxies, TrustedProxies } from './client-address';

const proxies = new TrustedProxies(parseTrustedProxies('10.0.0.0/8, 192.168.1.7, fd00::/8'));

describe('the client address behind proxies', () => {
  it('takes the peer as the client when it is not a trusted proxy, whatever X-Forwarded-For says', () => {
    assert.equal(clientAddress('203.0.113.9', '198.51.100.1', proxies), '203.0.113.9');
    assert.equal(clientAddress('::ffff:203.0.113.9', undefined, proxies), '203.0.113.9');
  });

  it('takes the right-most hop that is not a trusted proxy', () => {
    assert.equal(clientAddress('10.1.2.3', 'evil, 198.51.100.1, 192.168.1.7, 10.9.9.9', proxies), '198.51.100.1');
    assert.equal(clientAddress('fd00::1', ['198.51.100.1', 'fd00::2'], proxies), '198.51.100.1');
  });

  it('stops at a hop that is not an address, and at the left end', () => {
    assert.equal(clientAddress('10.1.2.3', '198.51.100.1, not-an-ip', proxies), '10.1.2.3');
    assert.equal(clientAddress('10.1.2.3', '10.4.4.4', proxies), '10.4.4.4');
  });

  it('believes nobody without trusted proxies', () => {
    assert.equal(clientAddress('127.0.0.1', '198.51.100.1', new TrustedProxies([])), '127.0.0.1');
  });
});

describe('the bucket of a client', () => {
  it('counts all of loopback as one client', () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '127.255.1.1', '::1']) assert.equal(clientKey(address), 'loopback');
  });

  it('groups IPv6 clients by /64 and keeps IPv4 clients apart', () => {
    assert.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1.2.3.4'), '2001:db8:0:0::/64');
    assert.notEqual(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'));
    assert.equal(clientKey('198.51.100.1'), '198.51.100.1');
  });
});

describe('GOVERNOR_TRUSTED_PROXIES', () => {
  it('reads networks and lone addresses', () => {
    assert.deepEqual(parseTrustedProxies(' 10.0.0.0/8,192.168.1.7 , fd00::/8'), [
      { family: 'ipv4', address: '10.0.0.0', prefix: 8 },
      { family: 'ipv4', address: '192.168.1.7', prefix: 32 },
      { family: 'ipv6', address: 'fd00::', prefix: 8 },
    ]);
    assert.deepEqual(parseTrustedProxies(''), []);
  });

  it('refuses what is not a network, naming the entry', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'proxy.local', '10.0.0.0/8/1', '10.0.0.0/x']) {
      assert.throws(() => parseTrustedProxies(`127.0.0.1, ${bad}`), new RegExp(bad.replace(/[./]/g, '\\$&')));
    }
  });
});
