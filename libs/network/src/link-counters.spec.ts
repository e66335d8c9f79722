import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetDev } from './link-counters';

// /proc/net/dev of this host (Debian 12), a veth host end glued to its counters as the kernel prints a
// 15-character name, and a line cut short.
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 249214080  203519    0    0    0     0          0         0 249214080  203519    0    0    0     0       0          0
gv0123456789abc:1500 20 0 3 0 0 0 0 987654 40 0 2 0 0 0 0
  gv00aa11bb22:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  broken: 12 13
`;

describe('parseNetDev', () => {
  it('reads the counters of every interface from the tenant side of its host end', () => {
    const counters = parseNetDev(NET_DEV);
    assert.deepEqual(counters.get('gv0123456789abc'), { receiveBytes: 987654, transmitBytes: 1500, drops: 5 });
    assert.deepEqual(counters.get('gv00aa11bb22'), { receiveBytes: 0, transmitBytes: 0, drops: 0 });
    assert.deepEqual(counters.get('lo'), { receiveBytes: 249214080, transmitBytes: 249214080, drops: 0 });
  });

  it('leaves out a line it cannot read whole, and the headers', () => {
    const counters = parseNetDev(NET_DEV);
    assert.equal(counters.has('broken'), false);
    assert.deepEqual([...counters.keys()], ['lo', 'gv0123456789abc', 'gv00aa11bb22']);
  });
});
