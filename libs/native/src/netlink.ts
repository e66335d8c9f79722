import { constants } from 'node:os';
import type { KoffiFunc } from 'koffi';
import { loadLibrary } from './koffi-runtime';
import { findLibrary, onWorker, refuseNul } from './native';
import { NativeError } from './native.error';
import type { NetlinkStep, NetlinkWrites } from './netlink.types';

const { EINVAL, ENODEV, ENOENT } = constants.errno;
const MAX_RATE = 2 ** 53;
/** GV_NET_LINKS_DELETE_MAX of native/netlink.h */
const LINKS_DELETE_MAX = 1024;

function bind(path: string) {
  const lib = loadLibrary(path);
  const fn = <T extends (...args: never[]) => number>(prototype: string): KoffiFunc<T> => lib.func(prototype) as KoffiFunc<T>;
  type Ns = string | null;
  return {
    vethCreate: fn<(netns: Ns, ifname: string, peer: string, peerNetns: Ns) => number>(
      'int gv_net_veth_create(const char *netns_path, const char *ifname, const char *peer_name, const char *peer_netns_path)',
    ),
    linkDelete: fn<(netns: Ns, ifname: string) => number>('int gv_net_link_delete(const char *netns_path, const char *ifname)'),
    // No _Out_ on results: koffi passes the Int32Array as a pointer to its own slots, which the call fills.
    linksDelete: fn<(netns: Ns, ifnames: string[], count: number, results: Int32Array) => number>(
      'int gv_net_links_delete(const char *netns_path, const char **ifnames, size_t count, int *results)',
    ),
    linkUp: fn<(netns: Ns, ifname: string) => number>('int gv_net_link_up(const char *netns_path, const char *ifname)'),
    addressReplace: fn<(netns: Ns, ifname: string, address: string, prefix: number, nodad: number) => number>(
      'int gv_net_address_replace(const char *netns_path, const char *ifname, const char *address, unsigned int prefix, int nodad)',
    ),
    routeReplaceDefault: fn<(netns: Ns, ifname: string, gateway: string) => number>(
      'int gv_net_route_replace_default(const char *netns_path, const char *ifname, const char *gateway)',
    ),
    sysctlEnsure: fn<(netns: Ns, key: string, value: string, changed: [number]) => number>(
      'int gv_net_sysctl_ensure(const char *netns_path, const char *key, const char *value, _Out_ int *changed)',
    ),
    tbfReplace: fn<(netns: Ns, ifname: string, rate: number, burst: number, latencyUs: number) => number>(
      'int gv_net_tbf_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst, uint32_t latency_us)',
    ),
    qdiscDelete: fn<(netns: Ns, ifname: string, ingress: number) => number>('int gv_net_qdisc_delete(const char *netns_path, const char *ifname, int ingress)'),
    apply: fn<(netns: Ns, steps: string[], count: number, failedAt: [number]) => number>(
      'int gv_net_apply(const char *netns_path, const char **steps, size_t count, _Out_ size_t *failed_at)',
    ),
    policeReplace: fn<(netns: Ns, ifname: string, rate: number, burst: number) => number>(
      'int gv_net_police_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst)',
    ),
  };
}

type Bindings = ReturnType<typeof bind>;
const loaded = new Map<string, Bindings>();

/** "eth0 in /run/governor/ns/t/net": what every error of this class names besides the operation. */
const where = (netnsPath: string | undefined, ifname: string) => `${ifname} in ${netnsPath ?? 'this network namespace'}`;

function checkRate(op: string, place: string, rate: number, burst: number): void {
  if (!Number.isInteger(rate) || rate <= 0 || rate > MAX_RATE)
    throw new NativeError(op, place, EINVAL, `rate ${rate} is not a whole number of bytes/s above 0`);
  if (!Number.isInteger(burst) || burst <= 0 || burst > 0xffff_ffff) throw new NativeError(op, place, EINVAL, `burst ${burst} is not from 1 to 2^32 - 1 bytes`);
}

/** A step as gv_net_apply reads it (native/netlink.h), the operation its error is named after, and where it acts. */
function stepText(step: NetlinkStep): { text: string; op: string; subject: string } {
  switch (step.op) {
    case 'up':
      return { text: `up ${step.ifname}`, op: 'setLinkUp', subject: step.ifname };
    case 'addr':
      return { text: `addr ${step.ifname} ${step.address}/${step.prefix}${step.nodad ? ' nodad' : ''}`, op: 'replaceAddress', subject: step.ifname };
    case 'route':
      return { text: `route ${step.ifname} ${step.gateway}`, op: 'replaceDefaultRoute', subject: step.ifname };
    case 'sysctl':
      return { text: `sysctl ${step.key} ${step.value}`, op: 'ensureSysctl', subject: `/proc/sys/net/${step.key}` };
  }
}

/** NetlinkWrites over native/build/libgovernor.so (the same library as KoffiNative), loaded on first use. */
export class KoffiNetlink implements NetlinkWrites {
  private bindings: Bindings | undefined;

  /** @param libraryPath the .so to load instead of the one below the repository root */
  constructor(private readonly libraryPath?: string) {}

  private get lib(): Bindings {
    if (this.bindings === undefined) {
      const path = this.libraryPath ?? findLibrary();
      this.bindings = loaded.get(path) ?? bind(path);
      loaded.set(path, this.bindings);
    }
    return this.bindings;
  }

  /** Runs one call on a worker thread; a negative return throws, unless it is one of `absent` (then false). */
  private async call<A extends unknown[]>(
    op: string,
    netnsPath: string | undefined,
    ifname: string,
    strings: string[],
    f: KoffiFunc<(...args: A) => number>,
    args: A,
    absent: number[] = [],
    detail?: string,
  ): Promise<boolean> {
    const place = where(netnsPath, ifname);
    refuseNul(op, place, [netnsPath ?? '', ifname, ...strings]);
    const ret = await onWorker(f, ...args);
    if (ret < 0 && absent.includes(-ret)) return false;
    if (ret < 0) throw new NativeError(op, place, -ret, detail);
    return true;
  }

  async createVeth(netnsPath: string | undefined, ifname: string, peerName: string, peerNetnsPath: string | undefined): Promise<void> {
    const args: [string | null, string, string, string | null] = [netnsPath ?? null, ifname, peerName, peerNetnsPath ?? null];
    await this.call('createVeth', netnsPath, ifname, [peerName, peerNetnsPath ?? ''], this.lib.vethCreate, args, [], `peer ${where(peerNetnsPath, peerName)}`);
  }

  deleteLink(netnsPath: string | undefined, ifname: string): Promise<boolean> {
    return this.call('deleteLink', netnsPath, ifname, [], this.lib.linkDelete, [netnsPath ?? null, ifname], [ENODEV]);
  }

  async deleteLinks(netnsPath: string | undefined, ifnames: readonly string[]): Promise<(NativeError | boolean)[]> {
    const deleted: (NativeError | boolean)[] = [];
    for (let start = 0; start < ifnames.length; start += LINKS_DELETE_MAX) {
      const names = ifnames.slice(start, start + LINKS_DELETE_MAX);
      const place = netnsPath ?? 'this network namespace';
      refuseNul('deleteLinks', place, [netnsPath ?? '', ...names]);
      const results = new Int32Array(names.length);
      const ret = await onWorker(this.lib.linksDelete, netnsPath ?? null, [...names], names.length, results);
      if (ret < 0) throw new NativeError('deleteLinks', place, -ret, `${names.length} links: ${names.join(' ')}`);
      for (const [i, result] of results.entries())
        deleted.push(result === 0 || (result < 0 && -result === ENODEV ? false : new NativeError('deleteLink', where(netnsPath, names[i]), -result)));
    }
    return deleted;
  }

  async setLinkUp(netnsPath: string | undefined, ifname: string): Promise<void> {
    await this.call('setLinkUp', netnsPath, ifname, [], this.lib.linkUp, [netnsPath ?? null, ifname]);
  }

  async replaceAddress(netnsPath: string | undefined, ifname: string, address: string, prefix: number, options: { nodad?: boolean } = {}): Promise<void> {
    const args: [string | null, string, string, number, number] = [netnsPath ?? null, ifname, address, prefix, options.nodad ? 1 : 0];
    await this.call('replaceAddress', netnsPath, ifname, [address], this.lib.addressReplace, args, [], `${address}/${prefix}`);
  }

  async replaceDefaultRoute(netnsPath: string | undefined, ifname: string, gateway: string): Promise<void> {
    await this.call(
      'replaceDefaultRoute',
      netnsPath,
      ifname,
      [gateway],
      this.lib.routeReplaceDefault,
      [netnsPath ?? null, ifname, gateway],
      [],
      `via ${gateway}`,
    );
  }

  async ensureSysctl(netnsPath: string | undefined, key: string, value: string): Promise<boolean> {
    const changed: [number] = [0];
    const args: [string | null, string, string, [number]] = [netnsPath ?? null, key, value, changed];
    await this.call('ensureSysctl', netnsPath, `/proc/sys/net/${key}`, [value], this.lib.sysctlEnsure, args, [], `= ${value}`);
    return changed[0] === 1;
  }

  async apply(netnsPath: string | undefined, steps: readonly NetlinkStep[]): Promise<void> {
    if (steps.length === 0) return;
    const place = netnsPath ?? 'this network namespace';
    const texts = steps.map(stepText);
    refuseNul('apply', place, [netnsPath ?? '', ...texts.map((t) => t.text)]);
    // The plan's words are split at spaces: a field with a space of its own would read as two.
    const spaced = steps.find((step) => Object.values(step).some((value) => typeof value === 'string' && value.includes(' ')));
    if (spaced) throw new NativeError('apply', place, EINVAL, `a field holds a space: ${JSON.stringify(spaced)}`);
    if (steps.length > 64) throw new NativeError('apply', place, EINVAL, `${steps.length} steps, at most 64`);
    const failedAt: [number] = [0];
    const ret = await onWorker(
      this.lib.apply,
      netnsPath ?? null,
      texts.map((t) => t.text),
      steps.length,
      failedAt,
    );
    if (ret < 0) {
      const failed = texts[Math.min(failedAt[0], texts.length - 1)];
      throw new NativeError(failed.op, where(netnsPath, failed.subject), -ret, `${failed.text}: step ${failedAt[0] + 1} of ${steps.length}`);
    }
  }

  async replaceTbf(netnsPath: string | undefined, ifname: string, rate: number, burst: number, latencyUs: number): Promise<void> {
    checkRate('replaceTbf', where(netnsPath, ifname), rate, burst);
    const args: [string | null, string, number, number, number] = [netnsPath ?? null, ifname, rate, burst, latencyUs];
    await this.call('replaceTbf', netnsPath, ifname, [], this.lib.tbfReplace, args, [], `tbf rate ${rate} bytes/s burst ${burst}`);
  }

  deleteQdisc(netnsPath: string | undefined, ifname: string, parent: 'root' | 'ingress'): Promise<boolean> {
    // Without one the kernel says ENOENT, or EINVAL for the builtin root qdisc a link starts with.
    const args: [string | null, string, number] = [netnsPath ?? null, ifname, parent === 'ingress' ? 1 : 0];
    return this.call('deleteQdisc', netnsPath, ifname, [], this.lib.qdiscDelete, args, [ENOENT, EINVAL], `${parent} qdisc`);
  }

  async replacePolice(netnsPath: string | undefined, ifname: string, rate: number, burst: number): Promise<void> {
    checkRate('replacePolice', where(netnsPath, ifname), rate, burst);
    const args: [string | null, string, number, number] = [netnsPath ?? null, ifname, rate, burst];
    const detail = `matchall police rate ${rate} bytes/s burst ${burst} (ENOENT: the kernel has no matchall classifier or police action)`;
    await this.call('replacePolice', netnsPath, ifname, [], this.lib.policeReplace, args, [], detail);
  }
}
