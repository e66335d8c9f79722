import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ChangeListener } from './change-listener';

describe('the change listener', () => {
  it('backs off further on every failed reconnect instead of retrying at the first delay for ever', async () => {
    // A port that accepts and hangs up at once: every attempt fails, as it does while PostgreSQL is away.
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const listener = new ChangeListener(
      `postgres://x@127.0.0.1:${port}/x`,
      'governor_changes',
      { changed: () => undefined, connected: () => undefined },
      { firstMs: 10, maxMs: 80 },
    );
    try {
      listener.start();
      await sleep(600);
    } finally {
      await listener.stop();
      server.close();
    }
    assert.ok(listener.delays.length >= 5, `a few attempts were made: ${listener.delays.join(', ')}`);
    assert.deepEqual(listener.delays.slice(0, 5), [10, 20, 40, 80, 80]);
    assert.ok(
      listener.delays.every((delay, i) => i === 0 || delay >= listener.delays[i - 1]),
      `never back to the first delay: ${listener.delays.join(', ')}`,
    );
  });
});
