import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetdev } from './netdev';

// Captured on this development host (6.18) with a veth pair gv0123456789 / gvfixturepeer up for 3 s.
const CAPTURED = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 12982787   49280    0    0    0     0          0         0 12982787   49280    0    0    0     0       0          0
  ifb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  ifb1:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0: 206756417    5765    0    0    0     0          0         0   596985    4204    0    0    0     0       0          0
gvfixturepeer:     516       6    0    0    0     0          0         0      516       6    0    0    0     0       0          0
gv0123456789:     516       6    0    0    0     0          0         0      516       6    0    0    0     0       0          0
`;

describe('parseNetdev', () => {
  it('reads the counters of the interfaces asked for from a live /proc/net/dev', () => {
    const counters = parseNetdev(CAPTURED, new Set(['gv0123456789', 'eth0']));
    assert.deepEqual(counters.get('gv0123456789'), { rxBytes: 516, rxDropped: 0, txBytes: 516, txDropped: 0 });
    assert.deepEqual(counters.get('eth0'), { rxBytes: 206756417, rxDropped: 0, txBytes: 596985, txDropped: 0 });
    assert.equal(counters.has('lo'), false);
  });

  it('reads the drop columns of each direction, and names padded or long', () => {
    const text = `${CAPTURED}  gv00: 10 1 0 4 0 0 0 0 20 2 0 9 0 0 0 0\n`;
    assert.deepEqual(parseNetdev(text, new Set(['gv00'])).get('gv00'), { rxBytes: 10, rxDropped: 4, txBytes: 20, txDropped: 9 });
  });

  it('skips an interface that is not there and a line that is cut short or garbled', () => {
    const text = `${CAPTURED}gvshort: 1 2 3\ngvbad: x 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0`;
    assert.equal(parseNetdev(text, new Set(['gvmissing', 'gvshort', 'gvbad'])).size, 0);
    assert.equal(parseNetdev('', new Set(['eth0'])).size, 0);
  });
});
