import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { GovernorNative, SpareMonitor } from '../../native/src/native.types';
import { MonitorLaunchError, monitorOptions, WorkloadMonitors } from './monitor';

const runDir = mkdtempSync(join(tmpdir(), 'governor-monitors-'));
after(() => rmSync(runDir, { recursive: true, force: true }));

type MonitorNative = Pick<GovernorNative, 'lockHeld' | 'signalLockHolder' | 'monitorPath' | 'startMonitor' | 'spareMonitor' | 'releaseSpareMonitor'>;

interface Launch {
  workloadId: string;
  options: readonly string[];
  env: readonly string[];
  spare: SpareMonitor | undefined;
}

/** A typed double of the native calls WorkloadMonitors makes: it records them and answers as told. */
function fakeNative(answer: { failure?: string; spareFails?: boolean } = {}) {
  const launches: Launch[] = [];
  const released: SpareMonitor[] = [];
  let spares = 0;
  const native: MonitorNative = {
    lockHeld: () => false,
    signalLockHolder: () => false,
    monitorPath: () => '/opt/governor-monitor',
    startMonitor: (_path, workloadId, options, env, _timeoutMs, spare) => {
      launches.push({ workloadId, options, env, spare });
      return Promise.resolve(answer.failure);
    },
    spareMonitor: () => (answer.spareFails ? Promise.reject(new Error('EAGAIN')) : Promise.resolve({ pid: 1000 + ++spares, socket: 100 + spares })),
    releaseSpareMonitor: (spare) => void released.push(spare),
  };
  return { native, launches, released };
}

const request = {
  cgroupDir: '/sys/fs/cgroup/g/tenants/a/workloads/w',
  monitorCgroupDir: '/sys/fs/cgroup/g/tenants/a/monitors/w',
  netnsPath: '/run/governor/ns/a/net',
  usernsPath: '/run/governor/ns/a/user',
  tenantNamespaces: { pid: '/run/governor/ns/a/pid', mnt: '/run/governor/ns/a/mnt', uts: '/run/governor/ns/a/uts', ipc: '/run/governor/ns/a/ipc' },
  cwd: '/',
  command: ['/bin/echo', 'hi'],
  env: { SECRET: 'x y', EMPTY: '' },
  logMaxBytes: 1024,
  logFiles: 2,
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkloadMonitors.launch', () => {
  it('spawns its own program for the first launch, then hands each later one to the spare made after the last', async () => {
    const { native, launches } = fakeNative();
    const monitors = new WorkloadMonitors(native, runDir);
    await monitors.launch('w1', request);
    await settle();
    await monitors.launch('w2', request);
    await settle();
    await monitors.launch('w3', request);
    assert.deepEqual(
      launches.map((launch) => [launch.workloadId, launch.spare?.pid]),
      [
        ['w1', undefined],
        ['w2', 1001],
        ['w3', 1002],
      ],
    );
    await monitors.close();
  });

  it('gives each spare to one launch only: a launch that overlaps another spawns its own program', async () => {
    const { native, launches } = fakeNative();
    const monitors = new WorkloadMonitors(native, runDir);
    await monitors.launch('w1', request);
    await settle();
    await Promise.all([monitors.launch('w2', request), monitors.launch('w3', request)]);
    assert.deepEqual(
      launches.map((launch) => launch.spare?.pid),
      [undefined, 1001, undefined],
    );
    await monitors.close();
  });

  it('passes the environment as NAME=value entries and the options from --state-dir to the command, in its state dir', async () => {
    const { native, launches } = fakeNative();
    const monitors = new WorkloadMonitors(native, runDir);
    await monitors.launch('w4', request);
    assert.deepEqual(launches[0].env, ['SECRET=x y', 'EMPTY=']);
    assert.deepEqual(
      launches[0].options,
      monitorOptions({ ...request, monitorPath: '/opt/governor-monitor', workloadId: 'w4', stateDir: monitors.stateDir('w4') }),
    );
    assert.equal(launches[0].options[1], join(runDir, 'workloads', 'w4'));
    assert.deepEqual(launches[0].options.slice(-3), ['--', '/bin/echo', 'hi']);
    assert.ok(existsSync(monitors.stateDir('w4')), 'the state dir is made before the launch');
    await monitors.close();
  });

  it('turns the monitor’s own reason into a MonitorLaunchError, and still makes a spare for the next launch', async () => {
    const { native, launches } = fakeNative({ failure: 'cannot open /x: No such file or directory' });
    const monitors = new WorkloadMonitors(native, runDir);
    await assert.rejects(monitors.launch('w5', request), (err: unknown) => {
      assert.ok(err instanceof MonitorLaunchError);
      assert.equal(err.message, 'the workload monitor did not start: cannot open /x: No such file or directory');
      return true;
    });
    await settle();
    await assert.rejects(monitors.launch('w6', request), MonitorLaunchError);
    assert.equal(launches[1].spare?.pid, 1001);
    await monitors.close();
  });

  it('launches without a spare when none can be made', async () => {
    const { native, launches } = fakeNative({ spareFails: true });
    const monitors = new WorkloadMonitors(native, runDir);
    await monitors.launch('w7', request);
    await settle();
    await monitors.launch('w8', request);
    assert.deepEqual(
      launches.map((launch) => launch.spare),
      [undefined, undefined],
    );
    await monitors.close();
  });

  it('releases its spare when closed, also one still being made, and makes no other', async () => {
    const { native, launches, released } = fakeNative();
    const monitors = new WorkloadMonitors(native, runDir);
    await monitors.launch('w9', request);
    await monitors.close(); // the spare is still being made: released once it comes
    assert.deepEqual(released, [{ pid: 1001, socket: 101 }]);
    await monitors.launch('w10', request).catch(() => undefined);
    await settle();
    assert.equal(launches.at(-1)?.spare, undefined);
    assert.equal(released.length, 1);
  });
});
