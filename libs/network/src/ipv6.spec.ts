import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embedIpv4, embeddedPrefixLength, parseIpv6Prefix } from './ipv6';

describe('IPv6 addresses of tenant links', () => {
  it('embeds a tenant IPv4 address in the low 32 bits of the /96', () => {
    const prefix = parseIpv6Prefix('fd00:6776::/96');
    assert.equal(embedIpv4(prefix, '10.200.0.0'), 'fd00:6776::ac8:0');
    assert.equal(embedIpv4(prefix, '10.200.0.1'), 'fd00:6776::ac8:1');
    assert.equal(embedIpv4(parseIpv6Prefix('2001:db8:1:2:3:4::/96'), '192.0.2.33'), '2001:db8:1:2:3:4:c000:221');
    assert.equal(embedIpv4(parseIpv6Prefix('fd00:0:0:0:0:0::/96'), '0.0.0.1'), 'fd00::1');
    assert.equal(embeddedPrefixLength(31), 127);
    assert.equal(embeddedPrefixLength(30), 126);
  });

  it('writes addresses the way `ip` prints them (RFC 5952)', () => {
    assert.equal(embedIpv4(parseIpv6Prefix('FD00:0:0:1:0:0::/96'), '0.0.0.0'), 'fd00:0:0:1::');
    assert.equal(embedIpv4(parseIpv6Prefix('fd00:1:0:0:1:0::/96'), '10.0.0.1'), 'fd00:1::1:0:a00:1');
  });

  it('refuses what is not an IPv6 /96 network, saying what is allowed', () => {
    for (const text of ['fd00::/64', 'fd00::', '10.0.0.0/96', 'fd00::1:2/96', 'fd00::ffff:10.0.0.0/96', 'zz::/96', 'fd00::/96/1']) {
      assert.throws(() => parseIpv6Prefix(text), /<address>\/96|network address/, text);
    }
  });
});
