import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync } from 'node:fs';
import { problem, PROBLEM_CONTENT_TYPE } from '../common/problem';
import type { GovernorConfig } from '../config/governor.config';

/**
 * What answers on the API's port while the governor waits for its database: /healthz says the process is
 * alive, /readyz and everything else answer 503 problem+json with the reason, so that a load balancer and
 * an operator both see why it is not ready rather than a refused connection.
 */
export async function serveWhileWaiting(config: GovernorConfig, reason: () => string): Promise<{ close(): Promise<void> }> {
  const handler = (req: { url?: string }, res: import('node:http').ServerResponse): void => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    const body = problem(503, 'database-unavailable', `not ready: ${reason()}`);
    res.writeHead(503, { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Retry-After': '5' }).end(JSON.stringify(body));
  };
  const server: Server = config.tls
    ? createHttps({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, handler)
    : createHttp(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
