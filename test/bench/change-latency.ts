import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_TOKEN } from '../support/governor.harness';

export interface ChangeLatency {
  /** from the PATCH's start to the file holding the new value, ms */
  fromRequest: number[];
  /** from the PATCH's answer (its commit, and so its NOTIFY) to the file, ms */
  fromAnswer: number[];
}

/**
 * The latency of a change while the tenants resync: `rounds` PATCHes of one random tenant's `suspended`,
 * each at a random moment of the resync cycle (`resyncMs`), timed to its cgroup.freeze under the cgroup root
 * `root` holding the new value (a file of the cgroup v2 core, so it is there on a hybrid host too). The
 * tenants left suspended are resumed afterwards (untimed), so that the tenants are as they were found.
 */
export async function changeLatency(url: string, root: string, names: readonly string[], rounds: number, resyncMs: number): Promise<ChangeLatency> {
  const auth = { Authorization: `Bearer ${ROOT_TOKEN}` };
  const patch = async (name: string, suspended: boolean) => {
    const res = await fetch(`${url}/v1/tenants/${name}`, {
      method: 'PATCH',
      headers: { ...auth, 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ suspended }),
    });
    if (res.status !== 200) throw new Error(`PATCH ${name}: ${res.status} ${await res.text()}`);
  };
  const fromRequest: number[] = [];
  const fromAnswer: number[] = [];
  const suspended = new Set<string>();
  for (let round = 0; round < rounds; round += 1) {
    await sleep(200 + Math.random() * resyncMs);
    const name = names[Math.floor(Math.random() * names.length)];
    const freeze = join(root, 'tenants', name, 'cgroup.freeze');
    const suspend = readFileSync(freeze, 'utf8').trim() !== '1';
    const start = performance.now();
    await patch(name, suspend);
    const answered = performance.now();
    for (const deadline = Date.now() + 600_000; readFileSync(freeze, 'utf8').trim() !== (suspend ? '1' : '0'); await sleep(2)) {
      if (Date.now() > deadline) throw new Error(`${name}: cgroup.freeze not ${suspend ? 1 : 0} within 10 minutes`);
    }
    const applied = performance.now();
    fromRequest.push(applied - start);
    fromAnswer.push(applied - answered);
    if (suspend) suspended.add(name);
    else suspended.delete(name);
  }
  for (const name of suspended) await patch(name, false);
  return { fromRequest, fromAnswer };
}
