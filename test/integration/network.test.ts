import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  ensureFirewall,
  ensureLink,
  ensureShaping,
  hostInterfaceName,
  inNetns,
  linkCounters,
  removeFirewall,
  removeLink,
  run,
  type TenantLinkSpec,
} from '../../libs/network/src';

// Real namespaces, veth and tc on this host. The namespace here is made with unshare(1); the service
// makes its own with the native library. Traffic only ever goes to addresses inside it.
const dir = join('/run', `governor-test-net-${randomBytes(4).toString('hex')}`);
const netns = join(dir, 'net');
const link = (n: number, netnsPath: string): TenantLinkSpec => ({
  hostInterface: hostInterfaceName(`${randomBytes(5).toString('hex')}-0000-0000-0000-000000000000`),
  netnsPath,
  hostAddress: `10.254.77.${2 * n}`,
  tenantAddress: `10.254.77.${2 * n + 1}`,
  prefix: 31,
  ingress: undefined,
  egress: undefined,
});
const spec = link(0, netns);
const table = `governor_test_${randomBytes(3).toString('hex')}`;
const other = link(1, join(dir, 'other'));

before(() => {
  mkdirSync(dir, { recursive: true });
  for (const path of [netns, other.netnsPath]) {
    writeFileSync(path, '');
    execFileSync('unshare', [`--net=${path}`, 'true']);
  }
});
after(async () => {
  await removeFirewall(table);
  for (const s of [spec, other]) {
    await removeLink(s.hostInterface);
    execFileSync('umount', [s.netnsPath]);
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Whether a TCP connection from inside `from` to address:port succeeds within two seconds. */
async function tcpFrom(from: TenantLinkSpec, address: string, port: number, bind?: string): Promise<boolean> {
  const target = `TCP:${address}:${port},connect-timeout=2${bind ? `,bind=${bind}` : ''}`;
  return (await run(inNetns(from.netnsPath, ['socat', '-u', 'OPEN:/dev/null', target]))).code === 0;
}

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

  it('lets a tenant reach its gateway by ping and nothing else on the host, nor another tenant', async () => {
    await ensureLink(spec);
    await ensureLink(other);
    const server = createServer((socket) => socket.end()).listen(7100, spec.hostAddress);
    await new Promise((resolve) => server.once('listening', resolve));
    const otherSink = spawn('nsenter', [
      `--net=${other.netnsPath}`,
      '--',
      'socat',
      '-u',
      `TCP-LISTEN:7101,bind=${other.tenantAddress},reuseaddr,fork`,
      'OPEN:/dev/null',
    ]);
    try {
      await sleep(300);
      assert.equal(await tcpFrom(spec, spec.hostAddress, 7100), true, 'without the firewall the host service is reachable');
      assert.equal(await ensureFirewall([spec, other], table), true);
      assert.equal(await ensureFirewall([spec, other], table), false, 'a second pass writes nothing');
      assert.equal(await tcpFrom(spec, spec.hostAddress, 7100), false, 'a tenant does not reach a host service');
      assert.equal(await tcpFrom(spec, other.tenantAddress, 7101), false, 'a tenant does not reach another tenant');
      assert.equal((await run(inNetns(spec.netnsPath, ['ping', '-c', '1', '-W', '2', spec.hostAddress]))).code, 0, 'its gateway answers ping');
      assert.ok((await sendInto(1024, 7004)) < 5, 'the host still reaches the tenant');
    } finally {
      otherSink.kill();
      server.close();
    }
  });

  it('drops packets from a tenant that do not carry its own address', async () => {
    await ensureLink(spec);
    await ensureFirewall([spec, other], table);
    await run(inNetns(spec.netnsPath, ['ip', 'address', 'add', '10.254.77.250/32', 'dev', 'eth0']));
    try {
      assert.equal((await run(inNetns(spec.netnsPath, ['ping', '-c', '1', '-W', '2', spec.hostAddress]))).code, 0);
      assert.notEqual(
        (await run(inNetns(spec.netnsPath, ['ping', '-c', '1', '-W', '2', '-I', '10.254.77.250', spec.hostAddress]))).code,
        0,
        'a spoofed source is dropped',
      );
    } finally {
      await run(inNetns(spec.netnsPath, ['ip', 'address', 'del', '10.254.77.250/32', 'dev', 'eth0']));
    }
  });

  it('puts back a firewall rule deleted by hand', async () => {
    await ensureFirewall([spec, other], table);
    const handles = await run(['nft', '-a', 'list', 'chain', 'inet', table, 'input']);
    const handle = /iifname \{[^}]+\} drop # handle (\d+)/.exec(handles.stdout)?.[1];
    assert.ok(handle, handles.stdout);
    await run(['nft', 'delete', 'rule', 'inet', table, 'input', 'handle', handle]);
    assert.equal(await ensureFirewall([spec, other], table), true);
    assert.match((await run(['nft', 'list', 'chain', 'inet', table, 'input'])).stdout, /iifname \{[^}]+\} drop/);
  });
});
