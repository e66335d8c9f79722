import { seeded } from './seeded';

export interface LoadOptions {
  url: string;
  adminToken: string;
  clients: number;
  requestsPerClient: number;
  seed: number;
  /** tenants made up front, each with a tenant key (default 8) */
  tenants?: number;
}

export interface LoadResult {
  total: number;
  ms: number;
  byStatus: Record<string, number>;
  /** requests answered otherwise than expected: what was asked, what came back */
  unexpected: { request: string; status: number | string; body: string }[];
}

interface Step {
  method: string;
  path: string;
  token: string;
  body?: unknown;
  expect: number;
}

/**
 * Clients sending valid requests at once, reads and writes mixed, with the admin token and tenant keys:
 * every answer must be the expected 2xx. What a request got instead is collected with its body, so a
 * failure says which request saw which wrong answer (a 401 for a valid key, a 404 for a live tenant, a 500).
 */
export async function loadTest(options: LoadOptions): Promise<LoadResult> {
  const { url, adminToken } = options;
  const send = async (step: Step): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${url}${step.path}`, {
      method: step.method,
      headers: { Authorization: `Bearer ${step.token}`, ...(step.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: step.body === undefined ? undefined : JSON.stringify(step.body),
    });
    return { status: res.status, text: await res.text() };
  };

  const tenants: { name: string; key: string }[] = [];
  for (let i = 0; i < (options.tenants ?? 8); i += 1) {
    const name = `load-${options.seed}-${i}`;
    const created = await send({ method: 'POST', path: '/v1/tenants', token: adminToken, body: { name, quota: { pids: { max: 100 } } }, expect: 201 });
    if (created.status !== 201) throw new Error(`setting up ${name}: ${created.status} ${created.text}`);
    const key = await send({ method: 'POST', path: `/v1/tenants/${name}/keys`, token: adminToken, body: { name: 'load' }, expect: 201 });
    if (key.status !== 201) throw new Error(`setting up a key for ${name}: ${key.status} ${key.text}`);
    tenants.push({ name, key: (JSON.parse(key.text) as { key: string }).key });
  }

  const byStatus: Record<string, number> = {};
  const unexpected: LoadResult['unexpected'] = [];
  let total = 0;
  let made = 0;
  const record = (step: Step, status: number | string, body: string): void => {
    total += 1;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (status !== step.expect) unexpected.push({ request: `${step.method} ${step.path}`, status, body: body.slice(0, 300) });
  };
  const run = async (step: Step): Promise<string> => {
    try {
      const res = await send(step);
      record(step, res.status, res.text);
      return res.text;
    } catch (err) {
      record(step, `error: ${(err as Error).message}`, '');
      return '';
    }
  };

  const client = async (index: number): Promise<void> => {
    const random = seeded(options.seed * 1000 + index);
    for (let done = 0; done < options.requestsPerClient;) {
      const tenant = random.pick(tenants);
      const roll = random.next();
      if (roll < 0.3) {
        await run({ method: 'GET', path: `/v1/tenants/${tenant.name}`, token: adminToken, expect: 200 });
      } else if (roll < 0.45) {
        const pids = random.int(64, 4096);
        await run({ method: 'PATCH', path: `/v1/tenants/${tenant.name}`, token: adminToken, body: { quota: { pids: { max: pids } } }, expect: 200 });
      } else if (roll < 0.55) {
        await run({ method: 'PATCH', path: `/v1/tenants/${tenant.name}`, token: adminToken, body: { displayName: `load ${random.int(0, 1e6)}` }, expect: 200 });
      } else if (roll < 0.62) {
        await run({ method: 'GET', path: '/v1/tenants?limit=20', token: adminToken, expect: 200 });
      } else if (roll < 0.65) {
        made += 1;
        await run({ method: 'POST', path: '/v1/tenants', token: adminToken, body: { name: `load-${options.seed}-n${index}-${made}` }, expect: 201 });
      } else if (roll < 0.85 || done + 2 > options.requestsPerClient) {
        await run({ method: 'GET', path: '/v1/me', token: tenant.key, expect: 200 });
      } else if (roll < 0.93) {
        await run({ method: 'GET', path: '/v1/me/quota-requests', token: tenant.key, expect: 200 });
      } else {
        const text = await run({
          method: 'POST',
          path: '/v1/me/quota-requests',
          token: tenant.key,
          body: { quota: { pids: { max: 200 } }, reason: 'load' },
          expect: 201,
        });
        const id = text.startsWith('{') ? (JSON.parse(text) as { id?: string }).id : undefined;
        if (id !== undefined) {
          await run({ method: 'POST', path: `/v1/me/quota-requests/${id}/withdraw`, token: tenant.key, expect: 200 });
          done += 1;
        }
      }
      done += 1;
    }
  };

  const started = Date.now();
  await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  return { total, ms: Date.now() - started, byStatus, unexpected };
}
