/**
 * The checks test/deploy/compose.sh and test/deploy/systemd.sh make of a deployed fleet, through its REST API
 * only (GOVERNOR_CHECK_URL, with the admin token in GOVERNOR_CHECK_TOKEN). Each command waits for what it
 * checks, prints what it saw as one JSON line, and exits 1 naming what did not hold:
 *
 *   ready                              GET /readyz answers 200
 *   nodes <node,...>                   every named node is Ready on /v1/nodes
 *   tenant <name> <node,...>           a tenant placed on those nodes is Ready, with a Ready status per node
 *   applied <name> <node,...>          like tenant, but only until every node applied the generation, whatever
 *                                      its phase; prints each node's phase and conditions
 *   attach <tenant> <node> <pid>       the process is attached to the tenant on that node (201)
 *   workload <tenant> <node> <cmd...>  a workload started through the API on that node is running
 *   workload-running <tenant> <id>     the workload reads running (again)
 *   delete <tenant>                    the tenant is deleted and gone (404)
 */
import type { NodeView, Tenant, Workload } from '../support/api';
import { waitFor } from '../support/wait';

const TIMEOUT_MS = Number(process.env.GOVERNOR_CHECK_TIMEOUT_MS ?? 120_000);

interface NodeStatus {
  node: string;
  phase: string;
  ready: boolean;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(new URL(path, required('GOVERNOR_CHECK_URL')), {
    method,
    signal: AbortSignal.timeout(15_000),
    headers: { authorization: `Bearer ${required('GOVERNOR_CHECK_TOKEN')}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // a text answer (or none) is kept as text
  }
  return { status: res.status, json };
}

/** Polls until `probe` holds; on timeout the error carries the last answer seen, which says why. */
async function until<T>(what: string, probe: () => Promise<{ done: T | undefined; seen: unknown }>): Promise<T> {
  let seen: unknown;
  return waitFor(
    async () => {
      const step = await probe().catch((err: Error) => ({ done: undefined, seen: err.message }));
      seen = step.seen;
      return step.done;
    },
    TIMEOUT_MS,
    what,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${JSON.stringify(seen)}`);
  });
}

async function ready(): Promise<unknown> {
  return until('GET /readyz 200', async () => {
    const res = await call('GET', '/readyz');
    return { done: res.status === 200 ? res.json : undefined, seen: res };
  });
}

async function nodes(names: string[]): Promise<unknown> {
  return until(`nodes ${names.join(', ')} Ready`, async () => {
    const res = await call('GET', '/v1/nodes');
    const items = (res.json as { items?: NodeView[] }).items ?? [];
    const seen = items.map((n) => ({ name: n.name, status: n.status, controllers: n.controllers.available, agentUrl: n.agentUrl }));
    const all = names.every((name) => items.some((n) => n.name === name && n.status === 'Ready'));
    return { done: all ? seen : undefined, seen: res.status === 200 ? seen : res };
  });
}

/** Creates the tenant on `placed` and waits until every node applied it: Ready there, or (`anyPhase`) any phase. */
async function tenant(name: string, placed: string[], anyPhase: boolean): Promise<unknown> {
  const created = await call('POST', '/v1/tenants', { name, nodes: placed });
  if (created.status !== 201) throw new Error(`POST /v1/tenants answered ${created.status}: ${JSON.stringify(created.json)}`);
  const { generation } = created.json as Tenant;
  return until(`tenant ${name} ${anyPhase ? 'applied' : 'Ready'} on ${placed.join(', ')}`, async () => {
    const res = await call('GET', `/v1/tenants/${name}`);
    const status = (res.json as Tenant).status;
    const perNode = (status.nodes as (NodeStatus & { observedGeneration: number; conditions: unknown[] })[]).map((n) => ({
      node: n.node,
      phase: n.phase,
      ready: n.ready,
      observedGeneration: n.observedGeneration,
      ...(anyPhase && { conditions: n.conditions }),
    }));
    const applied = (node: string): boolean =>
      perNode.some((n) => n.node === node && n.observedGeneration === generation && (anyPhase || (n.phase === 'Ready' && n.ready)));
    const all = (anyPhase || status.phase === 'Ready') && placed.every(applied);
    return { done: all ? { phase: status.phase, nodes: perNode, cgroupPath: status.cgroupPath } : undefined, seen: status };
  });
}

async function attach(name: string, node: string, pid: number): Promise<unknown> {
  const res = await call('POST', `/v1/tenants/${name}/processes`, { pid, node });
  if (res.status !== 201) throw new Error(`POST /v1/tenants/${name}/processes answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json;
}

async function workload(name: string, node: string, command: string[]): Promise<unknown> {
  const started = await call('POST', `/v1/tenants/${name}/workloads`, { command, node });
  if (started.status !== 201) throw new Error(`POST /v1/tenants/${name}/workloads answered ${started.status}: ${JSON.stringify(started.json)}`);
  const { id } = started.json as Workload;
  return until(`workload ${id} running`, async () => {
    const res = await call('GET', `/v1/tenants/${name}/workloads/${id}`);
    const body = res.json as Workload;
    return { done: body.state === 'running' ? body : undefined, seen: res.json };
  });
}

/** Waits for the workload to read running: after an agent restart it reads unknown until the node heartbeats again. */
async function workloadRunning(name: string, id: string): Promise<unknown> {
  return until(`workload ${id} running`, async () => {
    const res = await call('GET', `/v1/tenants/${name}/workloads/${id}`);
    return { done: res.status === 200 && (res.json as Workload).state === 'running' ? res.json : undefined, seen: res.json };
  });
}

async function remove(name: string): Promise<unknown> {
  const res = await call('DELETE', `/v1/tenants/${name}`);
  if (res.status !== 202) throw new Error(`DELETE /v1/tenants/${name} answered ${res.status}: ${JSON.stringify(res.json)}`);
  return until(`tenant ${name} gone`, async () => {
    const gone = await call('GET', `/v1/tenants/${name}`);
    return { done: gone.status === 404 ? { deleted: name } : undefined, seen: gone };
  });
}

async function main([command, ...args]: string[]): Promise<unknown> {
  const list = (value: string | undefined): string[] => (value ?? '').split(',').filter(Boolean);
  switch (command) {
    case 'ready':
      return ready();
    case 'nodes':
      return nodes(list(args[0]));
    case 'tenant':
      return tenant(args[0], list(args[1]), false);
    case 'applied':
      return tenant(args[0], list(args[1]), true);
    case 'attach':
      return attach(args[0], args[1], Number(args[2]));
    case 'workload':
      return workload(args[0], args[1], args.slice(2));
    case 'workload-running':
      return workloadRunning(args[0], args[1]);
    case 'delete':
      return remove(args[0]);
    default:
      throw new Error(`unknown command ${String(command)}: ready, nodes, tenant, applied, attach, workload, workload-running or delete`);
  }
}

// A request to a port forwarder whose backend is not listening yet was seen to leave node with nothing to wait
// for and exit 0 in silence; the interval keeps it alive, and an exit before the end is a failure.
process.exitCode = 1;
const alive = setInterval(() => undefined, 1000);
main(process.argv.slice(2))
  .then(
    (seen) => {
      console.log(JSON.stringify(seen));
      process.exitCode = 0;
    },
    (err: Error) => console.error(`fleet-check: ${err.message}`),
  )
  .finally(() => clearInterval(alive));
