import type { NetlinkWrites } from '../../native/src/netlink.types';
import type { LinkView, NetworkObserver } from './observe';
import { netlinkWrites, networkObserver } from './tenant-link';

/**
 * Bandwidth on the host end of a tenant's veth. Traffic into the tenant leaves the host end, so it is
 * shaped there with tbf (queued, smooth); traffic out of the tenant arrives on the host end, where only
 * policing is possible without an ifb device (excess is dropped, and TCP backs off).
 */

/** tbf's queue: what the rate drains in this time, plus one burst (tc's "latency 50ms"). */
const SHAPE_LATENCY_US = 50_000;

/** Burst for a rate: at least 32 KiB, or 10 ms worth of the rate, whichever is larger. */
function burstBytes(bitsPerSecond: number): number {
  return Math.max(32 * 1024, Math.ceil(bitsPerSecond / 8 / 100));
}

/**
 * Brings the host end's shaping and policing to the rates. Both are read over netlink (`observed`, the link
 * as ensureLink saw it, or a fresh look: the tbf qdisc's rate and the police rate of the ingress filter) and
 * written over netlink (RTM_NEWQDISC, RTM_NEWTFILTER) only when they differ, so no pass starts `tc`.
 */
export async function ensureShaping(
  device: string,
  ingress: number | 'max' | undefined,
  egress: number | 'max' | undefined,
  observed?: LinkView,
  observer: NetworkObserver = networkObserver(),
  writes: NetlinkWrites = netlinkWrites(),
): Promise<string[]> {
  const changes: string[] = [];
  const link = observed ?? (await observer.observe(undefined, [device])).links.get(device);
  const root = link?.qdiscs.find((q) => q.kind === 'tbf' && q.parent === 'root');
  const wantRate = typeof ingress === 'number' ? ingress : undefined;
  // The kernel keeps tbf's rate in bytes per second.
  if (wantRate === undefined) {
    if (root) {
      await writes.deleteQdisc(undefined, device, 'root');
      changes.push(`removed shaping on ${device}`);
    }
  } else if (root?.rate !== Math.floor(wantRate / 8)) {
    await writes.replaceTbf(undefined, device, Math.floor(wantRate / 8), burstBytes(wantRate), SHAPE_LATENCY_US);
    changes.push(`shaping ${device} to ${wantRate} bit/s into the tenant`);
  }

  const hasIngress = link?.qdiscs.some((q) => q.kind === 'ingress') ?? false;
  const wantPolice = typeof egress === 'number' ? egress : undefined;
  if (wantPolice === undefined) {
    if (hasIngress) {
      await writes.deleteQdisc(undefined, device, 'ingress');
      changes.push(`removed policing on ${device}`);
    }
    return changes;
  }
  if (!hasIngress || link?.police !== Math.floor(wantPolice / 8)) {
    await writes.replacePolice(undefined, device, Math.floor(wantPolice / 8), burstBytes(wantPolice));
    changes.push(`policing ${device} to ${wantPolice} bit/s out of the tenant`);
  }
  return changes;
}
