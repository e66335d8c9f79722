import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ensureLink, ensureShaping, hostInterfaceName, inNetns, linkCounters, removeLink, type TenantLinkSpec } from '../../libs/network/src';

// Real namespaces, veth and tc on this host. The namespace here is made with unshare(1); the service
// makes its own with the native library. Traffic only ever goes to addresses inside it.
const dir = join('/run', `governor-test-net-${randomBytes(4).toString('hex')}`);
const netns = join(dir, 'net');
const spec: TenantLinkSpec = {
  hostInterface: hostInterfaceName(`${randomBytes(5).toString('hex')}-0000-0000-0000-000000000000`),
  netnsPath: netns,
  hostAddress: '10.254.77.0',
  tenantAddress: '10.254.77.1',
  prefix: 31,
  ingress: undefined,
  egress: undefined,
};

before(() => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(netns, '');
  execFileSync('unshare', [`--net=${netns}`, 'true']);
});
after(async () => {
  await removeLink(spec.hostInterface);
  execFileSync('umount', [netns]);
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `bytes` to a sink listening inside the namespace and returns the seconds it took. */
async function sendInto(bytes: number, port: number): Promise<number> {
  const sink = spawn('nsenter', [`--net=${netns}`, '--', 'socat', '-u', `TCP-LISTEN:${port},bind=${spec.tenantAddress},reuseaddr`, 'OPEN:/dev/null']);
  const drained = new Promise((resolve) => sink.once('exit', resolve));
  try {
    await sleep(300);
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: spec.tenantAddress, port }, () => socket.end(Buffer.alloc(bytes)));
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await drained;
    return (Date.now() - started) / 1000;
  } finally {
    sink.kill();
  }
}

describe('a tenant link', () => {
  it('creates the veth pair with addresses, loopback and a default route, then changes nothing', async () => {
    const changes = await ensureLink(spec);
    assert.ok(
      changes.some((c) => c.startsWith('created veth')),
      changes.join('\n'),
    );
    assert.deepEqual(await ensureLink(spec), [], 'a second pass changes nothing');
    const inside = execFileSync(inNetns(netns, ['ip', '-o', '-4', 'address', 'show'])[0], inNetns(netns, ['ip', '-o', '-4', 'address', 'show']).slice(1), {
      encoding: 'utf8',
    });
    const lines = inside
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/).slice(1, 4).join(' '));
    assert.deepEqual(lines, ['lo inet 127.0.0.1/8', `eth0 inet ${spec.tenantAddress}/31`]);
    const links = execFileSync('nsenter', [`--net=${netns}`, '--', 'ip', '-o', 'link', 'show'], { encoding: 'utf8' });
    assert.deepEqual(
      links
        .trim()
        .split('\n')
        .map((line) => line.split(':')[1].trim().split('@')[0]),
      ['lo', 'eth0'],
    );
  });

  it('carries TCP from the host into the tenant', async () => {
    await ensureLink(spec);
    const seconds = await sendInto(64 * 1024, 7001);
    assert.ok(seconds < 5);
    const counters = await linkCounters(spec.hostInterface);
    assert.ok(counters && counters.receiveBytes >= 64 * 1024, JSON.stringify(counters));
  });

  it('shapes traffic into the tenant: a transfer takes at least size / rate', async () => {
    const rate = 4_000_000; // bits per second
    assert.ok((await ensureShaping(spec.hostInterface, rate, undefined)).length > 0);
    assert.deepEqual(await ensureShaping(spec.hostInterface, rate, undefined), [], 'a second pass changes nothing');
    const bytes = 1024 * 1024;
    const seconds = await sendInto(bytes, 7002);
    assert.ok(seconds >= ((bytes * 8) / rate) * 0.9, `${bytes} bytes at ${rate} bit/s took only ${seconds}s`);
    assert.ok((await ensureShaping(spec.hostInterface, undefined, undefined)).length > 0, 'shaping is removed again');
  });

  it('repairs a deleted veth', async () => {
    await removeLink(spec.hostInterface);
    const changes = await ensureLink(spec);
    assert.ok(
      changes.some((c) => c.startsWith('created veth')),
      changes.join('\n'),
    );
    assert.ok((await sendInto(1024, 7003)) < 5);
  });
});
