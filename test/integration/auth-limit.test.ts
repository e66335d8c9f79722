import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IssuedAdminToken, Reply } from '../support/api';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

interface Sent {
  /** the local address the request leaves from (any of 127/8 works on loopback) */
  from?: string;
  forwardedFor?: string;
  token?: string;
}

/** One GET /v1/tenants over a real socket, so that the peer address is what the test says. */
function send(server: Server, { from = '127.0.0.1', forwardedFor, token }: Sent): Promise<{ status: number; retryAfter?: string }> {
  const { port } = server.address() as AddressInfo;
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/tenants', localAddress: from, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const BAD = 'wrong-wrong-wrong-wrong';

async function listening(gov: TestGovernor): Promise<Server> {
  const server = gov.app.getHttpServer() as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('the auth failure limit, without trusted proxies', () => {
  let gov: TestGovernor;
  let server: Server;
  before(async () => {
    gov = await startGovernor({ GOVERNOR_AUTH_FAILURES: '3/1m' });
    server = await listening(gov);
  });
  after(async () => {
    await gov?.close();
  });

  it('refuses more failures with 429 but never a valid credential', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await send(server, { token: BAD })).status, 401);
    const limited = await send(server, { token: BAD });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.retryAfter) >= 1 && Number(limited.retryAfter) <= 60, limited.retryAfter);
    assert.equal((await send(server, {})).status, 429, 'no token is a failure too');
    assert.equal((await send(server, { token: gov.root.slice('Bearer '.length) })).status, 200, 'the admin gets in');
  });

  it('counts every loopback address as one client', async () => {
    assert.equal((await send(server, { from: '127.0.0.2', token: BAD })).status, 429);
    assert.equal((await send(server, { from: '127.3.4.5', token: BAD })).status, 429);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    assert.equal((await send(server, { forwardedFor: '198.51.100.1', token: BAD })).status, 429);
  });
});

describe('the auth failure limit behind a trusted proxy', () => {
  let gov: TestGovernor;
  let server: Server;
  before(async () => {
    gov = await startGovernor({ GOVERNOR_AUTH_FAILURES: '3/1m', GOVERNOR_TRUSTED_PROXIES: '127.0.0.0/8, 10.0.0.0/8' });
    server = await listening(gov);
  });
  after(async () => {
    await gov?.close();
  });

  it('limits each forwarded client on its own, taking the right-most hop that is not a trusted proxy', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await send(server, { forwardedFor: `spoof-${i}, 203.0.113.5, 10.1.1.1`, token: BAD })).status, 401);
    assert.equal((await send(server, { forwardedFor: '1.2.3.4, 203.0.113.5', token: BAD })).status, 429, 'the left part is the client’s to write');
    assert.equal((await send(server, { forwardedFor: '203.0.113.6', token: BAD })).status, 401, 'another client behind the proxy');
  });

  it('groups IPv6 clients by /64', async () => {
    for (let i = 1; i <= 3; i++) assert.equal((await send(server, { forwardedFor: `2001:db8:1:2::${i}`, token: BAD })).status, 401);
    assert.equal((await send(server, { forwardedFor: '2001:db8:1:2:ffff::9', token: BAD })).status, 429);
    assert.equal((await send(server, { forwardedFor: '2001:db8:1:3::1', token: BAD })).status, 401);
  });

  it('limits failures per credential prefix across addresses, and still lets the real credential in', async () => {
    const issued: Reply<IssuedAdminToken> = await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'guessed' });
    const token = issued.body.token;
    const wrongSecret = (i: number) => `${token.slice(0, -2)}${i}${token.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 3; i++) assert.equal((await send(server, { forwardedFor: `192.0.2.${10 + i}`, token: wrongSecret(i) })).status, 401);
    assert.equal((await send(server, { forwardedFor: '192.0.2.50', token: wrongSecret(7) })).status, 429);
    assert.equal((await send(server, { forwardedFor: '192.0.2.51', token: BAD })).status, 401, 'another token from a fresh address');
    assert.equal((await send(server, { forwardedFor: '192.0.2.50', token })).status, 200);
  });
});
