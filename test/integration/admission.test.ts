import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';
import { bodyOf, type Problem, type Tenant } from '../support/api';
import type { AdmissionView } from '../../apps/governor/src/admission/admission.service';

const GiB = 2 ** 30;
const PROBLEM = /^application\/problem\+json/;

/**
 * Admission against nodes of known capacity: rows written here for two hosts that never heartbeat
 * (admission reads capacity, not readiness), next to this host's own node (role all, for the plan).
 */
describe('admission: guarantees placed on a node never exceed its capacity', () => {
  const host = hostScratch('admission');
  let gov: TestGovernor;
  const admin = <T extends { set(name: string, value: string): T }>(req: T): T => req.set('Authorization', gov.root);

  before(async () => {
    gov = await startGovernor({ ...host.env, GOVERNOR_NET_POOL: '10.251.200.0/24' });
    for (const [name, cpus, memory] of [
      ['adm-a', 4, 8 * GiB],
      ['adm-b', 2, 4 * GiB],
    ] as const) {
      await gov.query(
        `INSERT INTO nodes (name, role, kernel, cgroup_mode, cgroup_mount, cgroup_root, controllers_available, controllers_missing, features,
                            heartbeat_at, capacity_cpus, capacity_memory_bytes)
         VALUES ($1, 'agent', '6.1.0', 'unified', '/sys/fs/cgroup', '/sys/fs/cgroup/governor', '{}', '{}', '{}', now(), $2, $3)`,
        [name, cpus, memory],
      );
    }
  });
  after(async () => {
    try {
      await gov?.close();
    } finally {
      host.cleanup();
    }
  });

  const create = (name: string, quota: unknown, nodes: string[]) => admin(gov.http.post('/v1/tenants')).send({ name, quota, nodes });

  it('answers 409 on create with the node, the resource, what was asked, what is placed and the capacity', async () => {
    await create('first', { memory: { min: '6Gi' } }, ['adm-a']).expect(201);
    const res = await create('second', { memory: { min: '3Gi' } }, ['adm-a']);
    const problem = bodyOf<Problem>(res);
    assert.equal(res.status, 409, JSON.stringify(problem));
    assert.match(res.headers['content-type'], PROBLEM);
    assert.equal(problem.type, 'urn:governor:problem:admission-refused');
    assert.deepEqual(problem.errors, [
      {
        path: 'quota.memory.min',
        message:
          'node adm-a: memory.min requested 3221225472 bytes (3 GiB), already placed 6442450944 bytes (6 GiB) by other tenants, ' +
          'capacity 8589934592 bytes (8 GiB); at most 2147483648 bytes (2 GiB) more fits there',
      },
    ]);
    assert.match(problem.detail, /GOVERNOR_OVERCOMMIT/);
    assert.equal((await admin(gov.http.get('/v1/tenants/second'))).status, 404, 'nothing of a refused create is kept');
    await create('second', { memory: { min: '2Gi' } }, ['adm-a']).expect(201);
  });

  it('answers 409 on a PATCH that raises a guarantee or moves it to a full node, and admits one that lowers it', async () => {
    await create('mover', { cpuset: { cpus: '0-1' } }, ['adm-a']).expect(201);
    await create('holder', { cpuset: { cpus: '0' } }, ['adm-b']).expect(201);
    const res = await admin(gov.http.patch('/v1/tenants/mover')).send({ nodes: ['adm-a', 'adm-b'] });
    const moved = bodyOf<Problem>(res);
    assert.equal(res.status, 409, JSON.stringify(moved));
    assert.deepEqual(
      moved.errors.map((e) => e.path),
      ['quota.cpuset.cpus'],
    );
    assert.match(
      moved.errors[0].message,
      /^node adm-b: cpuset\.cpus requested 2 CPUs, already placed 1 CPU by other tenants, capacity 2 CPUs; at most 1 CPU more fits there$/,
    );
    const raised = await admin(gov.http.patch('/v1/tenants/second')).send({ quota: { memory: { min: '2Gi', low: '3Gi' } } });
    assert.equal(raised.status, 200, 'a PATCH that keeps the guarantee passes on a full node');
    const over = await admin(gov.http.patch('/v1/tenants/second')).send({ quota: { memory: { min: 2 * GiB + 1 } } });
    assert.equal(over.status, 409);
    assert.match(bodyOf<Problem>(over).errors[0].message, /requested 2147483649 bytes/);
    await admin(gov.http.patch('/v1/tenants/second'))
      .send({ quota: { memory: { min: '1Gi' } } })
      .expect(200);
    const tenant = await admin(gov.http.get('/v1/tenants/second')).expect(200);
    assert.equal(bodyOf<Tenant>(tenant).quota.memory?.min, GiB);
  });

  it('places a tenant with no nodes on every node, so it must fit on each', async () => {
    const res = await create('everywhere', { cpuset: { cpus: '0-1' } }, []);
    const { errors } = bodyOf<Problem>(res);
    assert.equal(res.status, 409, JSON.stringify(errors));
    assert.ok(
      errors.some((e) => e.message.startsWith('node adm-b: cpuset.cpus requested 2 CPUs, already placed 1 CPU ')),
      JSON.stringify(errors),
    );
    assert.ok(!errors.some((e) => e.message.startsWith('node adm-a:')), 'adm-a has room for it');
  });

  it('shows the admission in the plan, refusal included, without changing anything', async () => {
    const res = await admin(gov.http.post('/v1/tenants/first/plan')).send({ quota: { memory: { min: '7Gi' } }, nodes: ['adm-a', 'adm-b'] });
    const { admission } = bodyOf<{ admission: AdmissionView }>(res);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(admission.admitted, false);
    assert.deepEqual(
      admission.resources.map((r) => [r.node, r.resource, r.requested, r.placed, r.capacity, r.allowed, r.admitted]),
      [
        ['adm-a', 'memory.min', 7 * GiB, GiB, 8 * GiB, 8 * GiB, true],
        ['adm-b', 'memory.min', 7 * GiB, 0, 4 * GiB, 4 * GiB, false],
      ],
    );
    const unchanged = await admin(gov.http.get('/v1/tenants/first')).expect(200);
    assert.equal(bodyOf<Tenant>(unchanged).quota.memory?.min, 6 * GiB);
  });

  it('takes a node’s declared system reservation off its capacity, and refuses a cpuset naming CPUs it does not have', async () => {
    // adm-r has CPUs 0-3 online and 8 GiB, and keeps 1 CPU and 2 GiB for its system (GOVERNOR_SYSTEM_RESERVED on its agent).
    await gov.query(
      `INSERT INTO nodes (name, role, kernel, cgroup_mode, cgroup_mount, cgroup_root, controllers_available, controllers_missing, features,
                          heartbeat_at, capacity_cpus, capacity_memory_bytes, cpu_list, reserved_cpus, reserved_memory_bytes)
       VALUES ('adm-r', 'agent', '6.1.0', 'unified', '/sys/fs/cgroup', '/sys/fs/cgroup/governor', '{}', '{}', '{}', now(), 4, $1, '0-3', 1, $2)`,
      [8 * GiB, 2 * GiB],
    );
    const absent = await create('pinned', { cpuset: { cpus: '2-5' } }, ['adm-r']);
    assert.equal(absent.status, 409, JSON.stringify(absent.body));
    assert.deepEqual(bodyOf<Problem>(absent).errors, [
      { path: 'quota.cpuset.cpus', message: 'node adm-r: cpuset.cpus names CPUs 4-5, which the node does not have; its CPUs online: 0-3' },
    ]);
    const reserved = await create('pinned', { cpuset: { cpus: '0-3' }, memory: { min: '7Gi' } }, ['adm-r']);
    assert.equal(reserved.status, 409, JSON.stringify(reserved.body));
    assert.deepEqual(
      bodyOf<Problem>(reserved).errors.map((e) => e.message),
      [
        'node adm-r: memory.min requested 7516192768 bytes (7 GiB), already placed 0 bytes (0 B) by other tenants, capacity 8589934592 bytes (8 GiB), ' +
          'of which 2147483648 bytes (2 GiB) reserved for the system (GOVERNOR_SYSTEM_RESERVED); at most 6442450944 bytes (6 GiB) more fits there',
        'node adm-r: cpuset.cpus requested 4 CPUs, already placed 0 CPUs by other tenants, capacity 4 CPUs, of which 1 CPU reserved for the system ' +
          '(GOVERNOR_SYSTEM_RESERVED); at most 3 CPUs more fits there',
      ],
    );
    await create('pinned', { cpuset: { cpus: '1-3' }, memory: { min: '6Gi' } }, ['adm-r']).expect(201);
    const plan = bodyOf<{ admission: AdmissionView }>(
      await admin(gov.http.post('/v1/tenants/pinned/plan'))
        .send({ quota: { cpuset: { cpus: '3-4' } } })
        .expect(200),
    );
    assert.deepEqual(
      plan.admission.resources.map((r) => [r.resource, r.reserved, r.missing, r.online, r.allowed, r.admitted]),
      [
        ['memory.min', 2 * GiB, undefined, undefined, 6 * GiB, true],
        ['cpuset.cpus', 1, '4', '0-3', 3, false],
      ],
    );
  });

  it('lets exactly as many concurrent creates through as fit, whatever their interleaving', async () => {
    // adm-b has 4 GiB; 12 creates of 512 MiB race for it: 8 fit.
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => create(`racer-${i}`, { memory: { min: '512Mi' } }, ['adm-b'])));
    const statuses = results.map((res) => res.status).sort();
    assert.deepEqual(statuses, [...Array<number>(8).fill(201), ...Array<number>(4).fill(409)], JSON.stringify(results.map((r) => bodyOf<Problem>(r).detail)));
    const [{ placed }] = await gov.query<{ placed: string }>(
      `SELECT sum((quota->'memory'->>'min')::bigint)::text AS placed FROM tenants WHERE deleted_at IS NULL AND 'adm-b' = ANY(nodes)`,
    );
    assert.equal(Number(placed), 4 * GiB);
  });

  it('lets exactly as many concurrent PATCHes through as fit', async () => {
    // adm-a holds first (6 GiB) and second (1 GiB): 1 GiB is left, and six tenants each try to take it.
    for (let i = 0; i < 6; i += 1) await create(`grower-${i}`, { pids: { max: 10 } }, ['adm-a']).expect(201);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => admin(gov.http.patch(`/v1/tenants/grower-${i}`)).send({ quota: { memory: { min: '1Gi' } } })),
    );
    assert.deepEqual(results.map((res) => res.status).sort(), [200, 409, 409, 409, 409, 409]);
  });
});
