import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KoffiNetlink } from '../../libs/native/src/netlink';
import { ensureLink, ensureShaping, hostInterfaceName, networkObserver, removeLink, type TenantLinkSpec } from '../../libs/network/src';

// The netlink writes of native/netlink_write.c through libs/native and ensureLink, on real namespaces made
// with unshare(1): the repairs that the old `ip` path did blindly (a tenant end left alone, a host end that
// leads into an old namespace), policing as this kernel allows it, and errors that name the operation, the
// interface and the namespace. Addresses come from this file's own pool, 10.227.0.0/16, a /24 picked free.
const dir = join('/run', `governor-test-netlink-${randomBytes(4).toString('hex')}`);
const tenantNs = join(dir, 'tenant');
const oldNs = join(dir, 'old');
const writes = new KoffiNetlink();

function freeSubnet(): string {
  const used =
    execFileSync('ip', ['-4', '-o', 'address'], { encoding: 'utf8' }) + execFileSync('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (let tries = 0; tries < 100; tries++) {
    const net = `10.227.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(`${net}.`)) return net;
  }
  throw new Error('no free /24 in 10.227.0.0/16');
}
const NET = freeSubnet();
const spec: TenantLinkSpec = {
  hostInterface: hostInterfaceName(`${randomBytes(5).toString('hex')}-0000-0000-0000-000000000000`),
  netnsPath: tenantNs,
  hostAddress: `${NET}.0`,
  tenantAddress: `${NET}.1`,
  prefix: 31,
  ingress: undefined,
  egress: undefined,
};
const ipIn = (netns: string, ...args: string[]) => execFileSync('nsenter', [`--net=${netns}`, '--', 'ip', ...args], { encoding: 'utf8' });
const linksIn = (netns: string) =>
  (JSON.parse(execFileSync('nsenter', [`--net=${netns}`, '--', 'ip', '-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]).map(
    (l) => l.ifname,
  );

before(() => {
  mkdirSync(dir, { recursive: true });
  for (const path of [tenantNs, oldNs]) {
    writeFileSync(path, '');
    execFileSync('unshare', [`--net=${path}`, 'true']);
  }
});
after(async () => {
  await removeLink(spec.hostInterface);
  for (const path of [tenantNs, oldNs]) execFileSync('umount', [path]);
  rmSync(dir, { recursive: true, force: true });
});

describe('tenant links written over netlink', () => {
  it('replaces an eth0 left alone in the tenant namespace by a pair with the host', async () => {
    // A veth whose both ends are inside: eth0 exists, but leads nowhere the host can reach.
    execFileSync('nsenter', [`--net=${tenantNs}`, '--', 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'stray0']);
    const changes = await ensureLink(spec);
    assert.ok(
      changes.some((c) => c.startsWith('created veth')),
      changes.join('\n'),
    );
    assert.deepEqual(linksIn(tenantNs).sort(), ['eth0', 'lo'], 'the stray pair is gone, eth0 is the new end');
    assert.deepEqual(await ensureLink(spec), [], 'a second pass changes nothing');
  });

  it('removes a host end that leads into another namespace and pairs the tenant again', async () => {
    await removeLink(spec.hostInterface);
    await writes.createVeth(undefined, spec.hostInterface, 'eth0', oldNs);
    const changes = await ensureLink(spec);
    assert.ok(
      changes.some((c) => c.startsWith(`removed ${spec.hostInterface}`)),
      changes.join('\n'),
    );
    assert.deepEqual(linksIn(oldNs), ['lo'], "the old namespace's end went with it");
    const host = (await networkObserver().observe(undefined, [spec.hostInterface])).links.get(spec.hostInterface);
    assert.equal(host?.peer?.nsid, networkObserver().nsid(tenantNs), 'the host end leads into the tenant namespace');
    assert.match(ipIn(tenantNs, 'route', 'show', 'default'), new RegExp(`default via ${spec.hostAddress.replace(/\./g, '\\.')} dev eth0`));
  });

  it('polices traffic out of the tenant where the kernel can, and otherwise names what failed and leaves no ingress qdisc', async () => {
    const rate = 8_000_000;
    try {
      const changes = await ensureShaping(spec.hostInterface, undefined, rate);
      assert.deepEqual(changes, [`policing ${spec.hostInterface} to ${rate} bit/s out of the tenant`]);
      const host = (await networkObserver().observe(undefined, [spec.hostInterface])).links.get(spec.hostInterface);
      assert.equal(host?.police, rate / 8, 'the police rate reads back in bytes per second');
      assert.deepEqual(await ensureShaping(spec.hostInterface, undefined, rate), [], 'a second pass changes nothing');
      assert.deepEqual(await ensureShaping(spec.hostInterface, undefined, undefined), [`removed policing on ${spec.hostInterface}`]);
    } catch (err) {
      // This host's kernel has neither cls_matchall nor act_police (tc fails alike); the kernel guest has both.
      assert.match(String(err), new RegExp(`^NativeError: replacePolice ${spec.hostInterface} in this network namespace: ENOENT`));
    }
    const host = (await networkObserver().observe(undefined, [spec.hostInterface])).links.get(spec.hostInterface);
    assert.deepEqual(
      host?.qdiscs.filter((q) => q.parent === 'ingress'),
      [],
      'no ingress qdisc is left',
    );
  });

  it('names the operation, the interface and the namespace when the kernel refuses', async () => {
    await assert.rejects(writes.setLinkUp(tenantNs, 'eth9'), { message: `setLinkUp eth9 in ${tenantNs}: ENODEV` });
    await assert.rejects(writes.replaceAddress(tenantNs, 'eth0', '10.227.0', 31), /^NativeError: replaceAddress eth0 in .*: EINVAL \(10\.227\.0\/31\)$/);
    await assert.rejects(writes.createVeth(undefined, spec.hostInterface, 'eth0', tenantNs), {
      message: `createVeth ${spec.hostInterface} in this network namespace: EEXIST (peer eth0 in ${tenantNs})`,
    });
    await assert.rejects(writes.ensureSysctl(join(dir, 'missing'), 'ipv6/conf/eth0/disable_ipv6', '1'), { code: 'ENOENT' });
    assert.equal(await writes.deleteLink(tenantNs, 'eth9'), false, 'a missing link is already deleted');
    await assert.rejects(
      writes.apply(tenantNs, [
        { op: 'up', ifname: 'eth0' },
        { op: 'up', ifname: 'eth9' },
        { op: 'route', ifname: 'eth0', gateway: spec.hostAddress },
      ]),
      { message: `setLinkUp eth9 in ${tenantNs}: ENODEV (up eth9: step 2 of 3)` },
      'a plan names the step it stopped at',
    );
  });

  it('removes 30 links asked for together, with their other ends, and leaves the links it was not asked for', async () => {
    const tag = randomBytes(3).toString('hex');
    const hostEnds = Array.from({ length: 31 }, (_, i) => `gv${tag}${i.toString(16).padStart(4, '0')}`);
    for (const [i, name] of hostEnds.entries()) await writes.createVeth(undefined, name, `e${i}`, oldNs);
    const [kept, ...doomed] = hostEnds;
    try {
      await Promise.all([...doomed.map((name) => removeLink(name)), removeLink(`gv${tag}none`)]);
      const hostLinks = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string; group: string }[]).filter((l) =>
        l.ifname.startsWith(`gv${tag}`),
      );
      assert.deepEqual(hostLinks, [{ ...hostLinks[0], ifname: kept, group: 'default' }], 'only the link not asked for is left, in its own group');
      assert.deepEqual(linksIn(oldNs).sort(), ['e0', 'lo'], 'the other ends went with them');
    } finally {
      await writes.deleteLinks(undefined, hostEnds);
    }
    assert.deepEqual(linksIn(oldNs), ['lo']);
  });
});
