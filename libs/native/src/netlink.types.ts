/**
 * The network writes of native/netlink.h (rtnetlink and /proc/sys/net, no process), implemented by
 * libs/native/src/netlink.ts. `netnsPath` is a network namespace file (a bind mount of /proc/<pid>/ns/net),
 * or undefined for this process's own; a tenant's is entered by a short-lived thread of the library, never by
 * a thread that runs JavaScript. Each call runs on a worker thread and, when it fails, throws a NativeError
 * whose path names the interface and the namespace, and whose op names the operation.
 */
import type { NativeError } from './native.error';

/** One write of a plan that NetlinkWrites.apply runs in one namespace. */
export type NetlinkStep =
  | { op: 'up'; ifname: string }
  | { op: 'addr'; ifname: string; address: string; prefix: number; nodad?: boolean }
  | { op: 'route'; ifname: string; gateway: string }
  /** /proc/sys/net/<key>, written only when it holds something else */
  | { op: 'sysctl'; key: string; value: string };

export interface NetlinkWrites {
  /** Makes the veth pair `ifname` (in netnsPath's namespace) and `peerName`, made directly in `peerNetnsPath`'s. */
  createVeth(netnsPath: string | undefined, ifname: string, peerName: string, peerNetnsPath: string | undefined): Promise<void>;
  /** Deletes a link (and a veth's other end); false when there was none. */
  deleteLink(netnsPath: string | undefined, ifname: string): Promise<boolean>;
  /**
   * Deletes the links in one kernel batch (one wait for RCU for all of them rather than one a link). One result
   * per name, in order: true deleted, false there was none, or the error the kernel gave for that link.
   */
  deleteLinks(netnsPath: string | undefined, ifnames: readonly string[]): Promise<(NativeError | boolean)[]>;
  setLinkUp(netnsPath: string | undefined, ifname: string): Promise<void>;
  /** Adds or replaces an IPv4 or IPv6 address; `nodad` skips duplicate address detection. */
  replaceAddress(netnsPath: string | undefined, ifname: string, address: string, prefix: number, options?: { nodad?: boolean }): Promise<void>;
  /** Adds or replaces the default route of the gateway's family, out of `ifname`. */
  replaceDefaultRoute(netnsPath: string | undefined, ifname: string, gateway: string): Promise<void>;
  /** Reads /proc/sys/net/<key> in the namespace and writes `value` only when it differs; true when it wrote. */
  ensureSysctl(netnsPath: string | undefined, key: string, value: string): Promise<boolean>;
  /**
   * Applies the steps in order in one namespace with one native call (one socket; one entering thread for a
   * tenant's namespace), stopping at the first the kernel refuses; its error names that step as the single
   * call would (setLinkUp, replaceAddress, replaceDefaultRoute, ensureSysctl), with its place in the plan.
   */
  apply(netnsPath: string | undefined, steps: readonly NetlinkStep[]): Promise<void>;
  /** Root tbf of `rate` bytes/s, a bucket of `burst` bytes and a queue of `latencyUs` worth of the rate. */
  replaceTbf(netnsPath: string | undefined, ifname: string, rate: number, burst: number, latencyUs: number): Promise<void>;
  /** Deletes the root or ingress qdisc (and its filters); false when there was none. */
  deleteQdisc(netnsPath: string | undefined, ifname: string, parent: 'root' | 'ingress'): Promise<boolean>;
  /** A fresh ingress qdisc with one matchall filter whose police action drops beyond `rate` bytes/s. */
  replacePolice(netnsPath: string | undefined, ifname: string, rate: number, burst: number): Promise<void>;
}
