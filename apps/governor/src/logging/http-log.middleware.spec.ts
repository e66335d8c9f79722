import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { HttpLogMiddleware } from './http-log.middleware';

interface Line {
  level: number;
  msg: string;
  req: { id: string; method: string; url: string; remoteAddress: string; headers?: unknown };
  res: { statusCode: number };
  responseTime: number;
}

describe('the access log line', () => {
  const lines: Line[] = [];
  let server: Server;
  let url: string;

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Line);
        done();
      },
    });
    const middleware = new HttpLogMiddleware(pino({ level: 'info' }, sink));
    server = createServer((req, res) => {
      middleware.use(req, res, () => {
        const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
        if (status === 0) return res.destroy();
        res.writeHead(status).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const logged = async (path: string, headers: Record<string, string> = {}): Promise<{ line: Line; requestId: string | null }> => {
    const before = lines.length;
    const requestId = await new Promise<string | null>((resolve) => {
      get(`${url}${path}`, { headers, agent: false }, (res) => {
        res.resume();
        resolve((res.headers['x-request-id'] as string | undefined) ?? null);
      }).on('error', () => resolve(null));
    });
    for (let i = 0; lines.length === before && i < 100; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    return { line: lines[before], requestId };
  };

  it('writes one line per request with the id the response carries, and no header', async () => {
    const { line, requestId } = await logged('/v1/tenants/alpha?x=1', { Authorization: 'Bearer secret-token', 'X-Request-Id': 'trace-1' });
    assert.equal(requestId, 'trace-1');
    assert.deepEqual(line.req, { id: 'trace-1', method: 'GET', url: '/v1/tenants/alpha?x=1', remoteAddress: '127.0.0.1' });
    assert.deepEqual(line.res, { statusCode: 200 });
    assert.equal(line.msg, 'request completed');
    assert.equal(line.level, 30);
    assert.ok(line.responseTime >= 0);
    assert.ok(!JSON.stringify(lines).includes('secret-token'));
  });

  it('logs a client error as a warning and a server error as an error', async () => {
    assert.equal((await logged('/?status=404')).line.level, 40);
    const failed = (await logged('/?status=503')).line;
    assert.equal(failed.level, 50);
    assert.equal(failed.msg, 'request errored');
  });

  it('says when the connection closed before the answer was sent', async () => {
    const { line } = await logged('/?status=0');
    assert.equal(line.msg, 'request aborted');
    assert.equal(line.level, 40);
  });
});
