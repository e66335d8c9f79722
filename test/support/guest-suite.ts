import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reply } from './api';
import { hostScratch } from './cgroup-root';
import { startGovernor, type TestGovernor } from './governor.harness';

export type GuestTenant = {
  generation: number;
  status: { phase: string; observedGeneration: number; conditions: { reason: string; message: string }[] };
};

/** What a kernel-guest suite file shares: its governor, its scratch cgroup root, and the waits on the API. */
export interface GuestSuite {
  /** the scratch cgroup root the governor manages */
  root: string;
  /** processes the tests started, killed after the suite */
  children: ChildProcess[];
  /** the governor, started before the file's first test */
  readonly gov: TestGovernor;
  /** a tenant's cgroup file, trimmed */
  file: (tenant: string, name: string) => string;
  /** the tenant once its status has caught up with its generation */
  applied: (name: string, timeoutMs?: number) => Promise<GuestTenant>;
  /** POST /v1/tenants, then applied */
  create: (name: string, quota: unknown) => Promise<GuestTenant>;
}

/**
 * The governor of one suite file of the kernel tier (inside the QEMU guest, test/kernel/run.sh, where cgroup v2
 * has every controller), on a scratch cgroup root, run dir and firewall table named after `label`: started
 * before the file's tests with a 2 s resync, stopped after them together with the processes they started.
 * `pollMs` is how often applied() asks the API; `env` adds to the governor's environment.
 */
export function guestSuite(label: string, options: { pollMs: number; env?: Record<string, string> }): GuestSuite {
  const host = hostScratch(label);
  const children: ChildProcess[] = [];
  let started: TestGovernor | undefined;
  before(async () => {
    started = await startGovernor({
      ...host.env,
      GOVERNOR_NODE_NAME: 'guest',
      GOVERNOR_RESYNC_INTERVAL: '2s',
      // the throttling and OOM events within a sample or two of them
      GOVERNOR_USAGE_SAMPLE_INTERVAL: '5s',
      // errors (a 5xx with its cause) reach the guest's console, where a failed run can be read
      GOVERNOR_LOG_LEVEL: 'error',
      ...options.env,
    });
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await started?.close();
    host.cleanup();
  });
  const suite: GuestSuite = {
    root: host.root,
    children,
    get gov(): TestGovernor {
      if (started === undefined) throw new Error(`the ${label} suite's governor is not started (used outside a test?)`);
      return started;
    },
    file: (tenant, name) => readFileSync(join(host.root, 'tenants', tenant, name), 'utf8').trim(),
    applied: async (name, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res: Reply<GuestTenant> = await suite.gov.http.get(`/v1/tenants/${name}`).set('Authorization', suite.gov.root);
        if (res.status === 200 && res.body.status.observedGeneration === res.body.generation) return res.body;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${name} to be applied: ${JSON.stringify(res.body)}`);
        await sleep(options.pollMs);
      }
    },
    create: async (name, quota) => {
      const res = await suite.gov.http.post('/v1/tenants').set('Authorization', suite.gov.root).send({ name, quota });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return suite.applied(name);
    },
  };
  return suite;
}
