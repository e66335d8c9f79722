import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  TenantFirewall,
  ensureLink,
  ensureShaping,
  hostInterfaceName,
  inNetns,
  ensureForwarding,
  linkCounters,
  must,
  NetworkCommandError,
  parseIpv6Prefix,
  removeFirewall,
  tenantIpv6,
  removeLink,
  run,
  type FirewallTenant,
  type TenantLinkSpec,
} from '../../libs/network/src';

/**
 * A hand edit or listing with the nft tool, as an operator would type it. nft 1.0.6 dumps its cache again
 * whenever the ruleset's generation moved during the dump, so while another process commits back to back (a
 * governor of a test running beside this one applying its table for each of 50 tenants) a single nft can spin
 * until it is killed (measured: 5 of 5 `nft replace rule` runs timed out after 20 s beside a loop of `nft -f`).
 * Such a run is tried again; a run that nft itself refuses is not.
 */
async function nft(...args: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await must(['nft', ...args]);
    } catch (err) {
      if (!(err instanceof NetworkCommandError) || err.exitCode !== null || attempt === 8) throw err;
    }
  }
}

// Real namespaces, veth and tc on this host. The namespace here is made with unshare(1); the service
// makes its own with the native library. Traffic only ever goes to addresses inside it.
const dir = join('/run', `governor-test-net-${randomBytes(4).toString('hex')}`);
const netns = join(dir, 'net');
/**
 * Two /24s no address or route on this host touches yet: one for the tenant links, one for the stand-in
 * world. A fixed pair would meet the leftovers of a run that was killed before its clean-up, and a route to
 * a stale link would then take the test's traffic.
 */
function freeSubnets(): [string, string] {
  const used =
    execFileSync('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }) + execFileSync('ip', ['-4', '-o', 'address'], { encoding: 'utf8' });
  const free = (octet: number) => !used.includes(`10.254.${octet}.`);
  for (let tries = 0; tries < 200; tries++) {
    const octet = 100 + 2 * Math.floor(Math.random() * 70);
    if (free(octet) && free(octet + 1)) return [`10.254.${octet}`, `10.254.${octet + 1}`];
  }
  throw new Error('no two free /24s in 10.254.100.0-10.254.239.0');
}
const [NET, WORLD] = freeSubnets();
/** The address of NET.<last> embedded in the test's IPv6 /96, as the service derives it. */
const inV6 = (last: number) => `fd00:6776::afe:${(Number(NET.split('.')[2]) * 256 + last).toString(16)}`;
const link = (n: number, netnsPath: string): TenantLinkSpec => ({
  hostInterface: hostInterfaceName(`${randomBytes(5).toString('hex')}-0000-0000-0000-000000000000`),
  netnsPath,
  hostAddress: `${NET}.${2 * n}`,
  tenantAddress: `${NET}.${2 * n + 1}`,
  prefix: 31,
  ingress: undefined,
  egress: undefined,
});
const spec = link(0, netns);
const table = `governor_test_${randomBytes(3).toString('hex')}`;
const firewall = new TenantFirewall(table);
const other = link(1, join(dir, 'other'));
/** The firewall's view of links, none of them opted in to the outside. */
const fw = (...links: TenantLinkSpec[]): FirewallTenant[] =>
  links.map((l) => ({ hostInterface: l.hostInterface, hostAddress: l.hostAddress, tenantAddress: l.tenantAddress, outside: false, ipv6: l.ipv6 }));

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

/** socat's name for address:port, IPv4 or IPv6. */
const tcp = (address: string, port: number) => (address.includes(':') ? `TCP6:[${address}]:${port}` : `TCP4:${address}:${port}`);

/** Whether a TCP connection from inside `from` (a namespace file) to address:port succeeds within two seconds. */
async function tcpFrom(from: TenantLinkSpec | string, address: string, port: number): Promise<boolean> {
  const netnsPath = typeof from === 'string' ? from : from.netnsPath;
  return (await run(inNetns(netnsPath, ['socat', '-u', 'OPEN:/dev/null', `${tcp(address, port)},connect-timeout=2`]))).code === 0;
}

/** What a TCP server at address:port says to a client inside `netnsPath`, or undefined when it cannot connect. */
async function replyFrom(netnsPath: string, address: string, port: number): Promise<string | undefined> {
  const result = await run(inNetns(netnsPath, ['socat', '-u', `${tcp(address, port)},connect-timeout=2`, 'STDOUT']));
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/**
 * Waits until a socket listens on `port` inside the namespace: a socat started a moment ago may not have bound
 * yet on a loaded host, and a connection made before would be refused for the wrong reason.
 */
async function listening(netnsPath: string, port: number): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 10_000; await sleep(20)) {
    if ((await run(inNetns(netnsPath, ['ss', '-Hltn', `sport = :${port}`]))).stdout.trim() !== '') return;
  }
  throw new Error(`nothing listens on port ${port} in ${netnsPath} after 10 s`);
}

/** A TCP server inside a namespace that answers each client with its peer address; stopped by the returned function. */
async function listenIn(netnsPath: string, address: string, port: number): Promise<() => void> {
  const listen = address.includes(':') ? `TCP6-LISTEN:${port},bind=[${address}]` : `TCP4-LISTEN:${port},bind=${address}`;
  const server = spawn('nsenter', [`--net=${netnsPath}`, '--', 'socat', `${listen},reuseaddr,fork`, 'SYSTEM:echo $SOCAT_PEERADDR']);
  await listening(netnsPath, port);
  return () => server.kill();
}

/** Whether a ping from inside a namespace gets an answer (IPv6 when the address has colons). */
async function pings(netnsPath: string, address: string, source?: string): Promise<boolean> {
  const family = address.includes(':') ? '-6' : '-4';
  return (await run(inNetns(netnsPath, ['ping', family, '-c', '1', '-W', '2', ...(source ? ['-I', source] : []), address]))).code === 0;
}

const sysctl = (netnsPath: string | undefined, key: string) =>
  execFileSync(...splitCommand(netnsPath ? inNetns(netnsPath, ['cat', `/proc/sys/${key}`]) : ['cat', `/proc/sys/${key}`]), { encoding: 'utf8' }).trim();
const splitCommand = (command: string[]): [string, string[]] => [command[0], command.slice(1)];

/** Sends `bytes` to a sink listening inside the namespace and returns the seconds it took. */
async function sendInto(bytes: number, port: number): Promise<number> {
  const sink = spawn('nsenter', [`--net=${netns}`, '--', 'socat', '-u', `TCP-LISTEN:${port},bind=${spec.tenantAddress},reuseaddr`, 'OPEN:/dev/null']);
  const drained = new Promise((resolve) => sink.once('exit', resolve));
  try {
    await listening(netns, port);
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
      await listening(other.netnsPath, 7101);
      assert.equal(await tcpFrom(spec, spec.hostAddress, 7100), true, 'without the firewall the host service is reachable');
      assert.equal((await firewall.ensure(fw(spec, other))).written, true);
      assert.equal((await firewall.ensure(fw(spec, other))).written, false, 'a second pass writes nothing');
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
    await firewall.ensure(fw(spec, other));
    await run(inNetns(spec.netnsPath, ['ip', 'address', 'add', `${NET}.250/32`, 'dev', 'eth0']));
    try {
      assert.equal((await run(inNetns(spec.netnsPath, ['ping', '-c', '1', '-W', '2', spec.hostAddress]))).code, 0);
      assert.notEqual(
        (await run(inNetns(spec.netnsPath, ['ping', '-c', '1', '-W', '2', '-I', `${NET}.250`, spec.hostAddress]))).code,
        0,
        'a spoofed source is dropped',
      );
    } finally {
      await run(inNetns(spec.netnsPath, ['ip', 'address', 'del', `${NET}.250/32`, 'dev', 'eth0']));
    }
  });

  it('puts back a firewall rule deleted by hand', async () => {
    await firewall.ensure(fw(spec, other));
    const handles = await nft('-a', 'list', 'chain', 'inet', table, 'input');
    const handle = /iifname @links drop # handle (\d+)/.exec(handles)?.[1];
    assert.ok(handle, handles);
    await nft('delete', 'rule', 'inet', table, 'input', 'handle', handle);
    assert.equal((await firewall.ensure(fw(spec, other))).written, true);
    assert.match(await nft('list', 'chain', 'inet', table, 'input'), /iifname @links drop/);
  });

  it("puts back a tenant's element deleted by hand, and names its link", async () => {
    await firewall.ensure(fw(spec, other));
    await nft('delete', 'element', 'inet', table, 'guard4', `{ "${spec.hostInterface}" . ${spec.tenantAddress} }`);
    const outcome = await firewall.ensure(fw(spec, other));
    assert.equal(outcome.written, true);
    assert.deepEqual(outcome.drift, [`set guard4 lacks "${spec.hostInterface}" . ${spec.tenantAddress} (link "${spec.hostInterface}")`]);
    assert.match(await nft('list', 'set', 'inet', table, 'guard4'), new RegExp(`"${spec.hostInterface}" \\. ${spec.tenantAddress.replace(/\./g, '\\.')}`));
    assert.equal((await firewall.ensure(fw(spec, other))).written, false, 'repaired: the next pass writes nothing');
  });

  it('repairs a drop replaced by an accept by hand, which keeps the count of accepts and drops, and names the rule', async () => {
    await firewall.ensure(fw(spec, other));
    assert.equal((await firewall.ensure(fw(spec, other))).written, false, 'in sync: nothing written');
    const handles = await nft('-a', 'list', 'chain', 'inet', table, 'input');
    const handle = /iifname @links drop # handle (\d+)/.exec(handles)?.[1];
    assert.ok(handle, handles);
    await nft('replace', 'rule', 'inet', table, 'input', 'handle', handle, 'iifname', '@links', 'accept');
    const outcome = await firewall.ensure(fw(spec, other));
    assert.equal(outcome.written, true);
    assert.ok(
      outcome.drift.some((entry) => entry.includes('"accept"') && entry.includes('@links')),
      `the accept is named as drift: ${outcome.drift.join('\n')}`,
    );
    const input = await nft('list', 'chain', 'inet', table, 'input');
    assert.match(input, /iifname @links drop/);
    assert.doesNotMatch(input, /iifname @links accept/);
    assert.equal((await firewall.ensure(fw(spec, other))).written, false, 'repaired: the next pass writes nothing');
  });

  it('applies and repairs with more than 1,024 fds open, as a governor with 1,000 tenants has', async () => {
    // libnftables waits for its netlink socket with select(2), and glibc aborts a process whose select names
    // an fd of 1024 or more. A context made per call got such an fd once the governor held about 1,000
    // tenants' pidfds, and killed it; the one context of the process is made at its first use, below 1024.
    // The test's own soft limit may be 1024: raise it first (root may).
    execFileSync('prlimit', [`--pid=${process.pid}`, '--nofile=4096:4096']);
    await firewall.ensure(fw(spec));
    const held: number[] = [];
    try {
      for (let i = 0; i < 1_100; i++) held.push(openSync('/dev/null', 'r'));
      assert.ok(held.at(-1)! >= 1_024, `the test holds fds up to ${held.at(-1)}`);
      assert.equal((await firewall.ensure(fw(spec, other))).written, true, 'a change is applied');
      const handles = await nft('-a', 'list', 'chain', 'inet', table, 'input');
      const handle = /iifname @links drop # handle (\d+)/.exec(handles)?.[1];
      assert.ok(handle, handles);
      await nft('delete', 'rule', 'inet', table, 'input', 'handle', handle);
      assert.equal((await firewall.ensure(fw(spec, other))).written, true, 'a hand edit is repaired');
      assert.equal((await firewall.ensure(fw(spec, other))).written, false, 'then nothing is written');
    } finally {
      for (const fd of held) closeSync(fd);
    }
  });
});

describe('IPv6 on tenant links', () => {
  const prefix = parseIpv6Prefix('fd00:6776::/96');
  const spec6: TenantLinkSpec = { ...spec, ipv6: tenantIpv6(prefix, spec) };

  it('is off unless configured: disabled on both ends, and dropped by the firewall even when turned on by hand', async () => {
    await ensureLink(spec);
    assert.equal(sysctl(undefined, `net/ipv6/conf/${spec.hostInterface}/disable_ipv6`), '1');
    assert.equal(sysctl(netns, 'net/ipv6/conf/eth0/disable_ipv6'), '1');
    // As if someone turned it on behind Governor's back (a tenant cannot: its netns is not its own).
    await must(['sysctl', '-q', '-w', `net.ipv6.conf.${spec.hostInterface}.accept_dad=0`, `net.ipv6.conf.${spec.hostInterface}.disable_ipv6=0`]);
    await must(inNetns(netns, ['sysctl', '-q', '-w', 'net.ipv6.conf.eth0.accept_dad=0', 'net.ipv6.conf.eth0.disable_ipv6=0']));
    const linkLocal = await linkLocalOf(spec.hostInterface);
    await removeFirewall(table);
    assert.equal(await pings(netns, `${linkLocal}%eth0`), true, 'without the firewall, IPv6 gets through');
    await firewall.ensure(fw(spec, other));
    assert.equal(await pings(netns, `${linkLocal}%eth0`), false, 'the firewall drops IPv6 from a link without IPv6 addresses');
    await ensureLink(spec);
    assert.equal(sysctl(undefined, `net/ipv6/conf/${spec.hostInterface}/disable_ipv6`), '1', 'the next pass turns it off again');
    assert.equal(sysctl(netns, 'net/ipv6/conf/eth0/disable_ipv6'), '1');
  });

  it('when configured, gives both ends addresses inside the /96 and a default route, then changes nothing', async () => {
    assert.deepEqual(spec6.ipv6, { hostAddress: inV6(0), tenantAddress: inV6(1), prefix: 127 });
    const changes = await ensureLink(spec6);
    assert.ok(changes.includes(`address ${inV6(1)}/127 on eth0`), changes.join('\n'));
    assert.deepEqual(await ensureLink(spec6), [], 'a second pass changes nothing');
    const global = execFileSync(...splitCommand(inNetns(netns, ['ip', '-o', '-6', 'address', 'show', 'scope', 'global'])), { encoding: 'utf8' });
    assert.deepEqual(
      global
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/).slice(1, 4).join(' ')),
      [`eth0 inet6 ${inV6(1)}/127`],
    );
    assert.match(execFileSync(...splitCommand(inNetns(netns, ['ip', '-6', 'route', 'show', 'default'])), { encoding: 'utf8' }), new RegExp(`via ${inV6(0)}`));
  });

  it('lets IPv6 through the firewall as IPv4: the gateway echo and host connections, not host services nor spoofed sources', async () => {
    await ensureLink(spec6);
    const ipv6 = spec6.ipv6!;
    const hostService = createServer((socket) => socket.end('host')).listen(7110, ipv6.hostAddress);
    await new Promise((resolve) => hostService.once('listening', resolve));
    const stop = await listenIn(netns, ipv6.tenantAddress, 7111);
    try {
      await removeFirewall(table);
      assert.equal(await tcpFrom(spec6, ipv6.hostAddress, 7110), true, 'without the firewall the host service is reachable over IPv6');
      await firewall.ensure(fw(spec6, other));
      assert.equal((await firewall.ensure(fw(spec6, other))).written, false, 'a second pass writes nothing');
      assert.equal(await pings(netns, ipv6.hostAddress), true, 'its gateway answers ping over IPv6');
      assert.equal(await tcpFrom(spec6, ipv6.hostAddress, 7110), false, 'a tenant does not reach a host service over IPv6');
      const seen = await replyFrom(`/proc/${process.pid}/ns/net`, ipv6.tenantAddress, 7111);
      assert.equal(seen && new URL(`http://${seen}`).hostname, `[${ipv6.hostAddress}]`, 'the host reaches the tenant over IPv6');
      await must(inNetns(netns, ['ip', '-6', 'address', 'add', 'fd00:6776::dead/128', 'dev', 'eth0', 'nodad']));
      assert.equal(await pings(netns, ipv6.hostAddress, 'fd00:6776::dead'), false, 'a spoofed IPv6 source is dropped');
    } finally {
      stop();
      hostService.close();
      await run(inNetns(netns, ['ip', '-6', 'address', 'del', 'fd00:6776::dead/128', 'dev', 'eth0']));
      await ensureLink(spec);
      await firewall.ensure(fw(spec, other));
    }
    assert.equal(sysctl(netns, 'net/ipv6/conf/eth0/disable_ipv6'), '1', 'IPv6 is off again once it is no longer configured');
  });
});

describe('the outside', () => {
  // A stand-in for the world beyond the host: a namespace of the test's own behind a veth that is not a
  // tenant link, with a server that answers every client with the address it saw.
  const world = join(dir, 'world');
  const worldLink = `gvtw${randomBytes(4).toString('hex')}`;
  const forwardBefore = sysctl(undefined, 'net/ipv4/ip_forward');
  const opted = (...links: TenantLinkSpec[]) => fw(...links).map((t) => ({ ...t, outside: t.hostInterface === spec.hostInterface }));
  let stopWorld: () => void;
  let stopOther: () => void;
  let stopTenant: () => void;

  before(async () => {
    writeFileSync(world, '');
    execFileSync('unshare', [`--net=${world}`, 'true']);
    await must(inNetns(world, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', worldLink, 'netns', '1']));
    await must(['ip', 'address', 'add', `${WORLD}.1/30`, 'dev', worldLink]);
    await must(['ip', 'link', 'set', worldLink, 'up']);
    await must(inNetns(world, ['ip', 'address', 'add', `${WORLD}.2/30`, 'dev', 'eth0']));
    await must(inNetns(world, ['ip', 'link', 'set', 'eth0', 'up']));
    await must(inNetns(world, ['ip', 'route', 'add', `${NET}.0/24`, 'via', `${WORLD}.1`]));
    await ensureLink(spec);
    await ensureLink(other);
    stopWorld = await listenIn(world, `${WORLD}.2`, 7200);
    stopOther = await listenIn(other.netnsPath, other.tenantAddress, 7201);
    stopTenant = await listenIn(netns, spec.tenantAddress, 7202);
  });
  after(async () => {
    stopWorld?.();
    stopOther?.();
    stopTenant?.();
    await run(['ip', 'link', 'del', worldLink]);
    await run(['umount', world]);
    await must(['sysctl', '-q', '-w', `net.ipv4.ip_forward=${forwardBefore}`]);
  });

  it('is closed by default, even with forwarding on', async () => {
    await must(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await firewall.ensure(fw(spec, other));
    assert.equal(await replyFrom(netns, `${WORLD}.2`, 7200), undefined);
    assert.deepEqual(await ensureForwarding(fw(spec, other)), [], 'nothing asks for forwarding');
  });

  it('lets a tenant that opted in reach it, masqueraded behind the host, and turns forwarding on for it', async () => {
    await must(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
    assert.equal((await firewall.ensure(opted(spec, other))).written, true);
    assert.equal((await firewall.ensure(opted(spec, other))).written, false, 'a second pass writes nothing');
    assert.deepEqual(await ensureForwarding(opted(spec, other)), ['net.ipv4.ip_forward=1']);
    assert.deepEqual(await ensureForwarding(opted(spec, other)), []);
    assert.equal(await replyFrom(netns, `${WORLD}.2`, 7200), `${WORLD}.1`, 'the world sees the host, not the tenant');
  });

  it('still keeps the tenant that did not opt in inside, and both tenants apart', async () => {
    await firewall.ensure(opted(spec, other));
    assert.equal(await replyFrom(other.netnsPath, `${WORLD}.2`, 7200), undefined, 'a tenant without the opt-in does not get out');
    assert.equal(await replyFrom(netns, other.tenantAddress, 7201), undefined, 'the opt-in does not open other tenants');
    assert.equal(await tcpFrom(spec, spec.hostAddress, 7202), false, 'nor the host');
  });

  it('lets nothing from the outside open a connection into a tenant', async () => {
    await firewall.ensure(opted(spec, other));
    assert.equal(await replyFrom(world, spec.tenantAddress, 7202), undefined);
    assert.equal(await replyFrom(`/proc/${process.pid}/ns/net`, spec.tenantAddress, 7202), spec.hostAddress, 'while the host still can');
  });
});

/** The host end's link-local address, once it is usable. */
async function linkLocalOf(device: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const info = JSON.parse(await must(['ip', '-6', '-j', 'address', 'show', 'dev', device, 'scope', 'link'])) as Array<{
      addr_info?: Array<{ local: string; tentative?: boolean }>;
    }>;
    const address = info[0]?.addr_info?.find((a) => !a.tentative)?.local;
    if (address) return address;
    await sleep(100);
  }
  throw new Error(`${device} has no link-local IPv6 address`);
}
