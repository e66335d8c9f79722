import { must, run } from './command';
import type { LinkView, NetworkObserver } from './observe';
import { networkObserver } from './tenant-link';

/**
 * Bandwidth on the host end of a tenant's veth. Traffic into the tenant leaves the host end, so it is
 * shaped there with tbf (queued, smooth); traffic out of the tenant arrives on the host end, where only
 * policing is possible without an ifb device (excess is dropped, and TCP backs off).
 */
interface TcQdisc {
  kind: string;
  handle?: string;
  options?: { rate?: number; burst?: number };
}

interface TcFilter {
  kind?: string;
  options?: { actions?: Array<{ kind?: string; control_action?: { type?: string }; rate?: string | number }> };
}

const SHAPE_LATENCY = '50ms';

/** Burst for a rate: at least 32 KiB, or 10 ms worth of the rate, whichever is larger. */
function burstBytes(bitsPerSecond: number): number {
  return Math.max(32 * 1024, Math.ceil(bitsPerSecond / 8 / 100));
}

/**
 * Brings the host end's shaping and policing to the rates. The qdiscs are read over netlink (`observed`,
 * the link as ensureLink saw it, or a fresh look), so a link in sync starts no `tc`; only a policed link
 * still asks `tc` for its filter's rate.
 */
export async function ensureShaping(
  device: string,
  ingress: number | 'max' | undefined,
  egress: number | 'max' | undefined,
  observed?: LinkView,
  observer: NetworkObserver = networkObserver(),
): Promise<string[]> {
  const changes: string[] = [];
  const link = observed ?? (await observer.observe(undefined, [device])).links.get(device);
  const qdiscs: TcQdisc[] = (link?.qdiscs ?? []).map((q) => ({ kind: q.kind, options: { rate: q.rate } }));
  const root = qdiscs.find((q) => q.kind === 'tbf');
  const wantRate = typeof ingress === 'number' ? ingress : undefined;
  // The kernel keeps tbf's rate in bytes per second.
  if (wantRate === undefined) {
    if (root) {
      await must(['tc', 'qdisc', 'del', 'dev', device, 'root']);
      changes.push(`removed shaping on ${device}`);
    }
  } else if (root?.options?.rate !== Math.floor(wantRate / 8)) {
    await must([
      'tc',
      'qdisc',
      'replace',
      'dev',
      device,
      'root',
      'tbf',
      'rate',
      `${wantRate}bit`,
      'burst',
      String(burstBytes(wantRate)),
      'latency',
      SHAPE_LATENCY,
    ]);
    changes.push(`shaping ${device} to ${wantRate} bit/s into the tenant`);
  }

  const hasIngress = qdiscs.some((q) => q.kind === 'ingress');
  const wantPolice = typeof egress === 'number' ? egress : undefined;
  if (wantPolice === undefined) {
    if (hasIngress) {
      await must(['tc', 'qdisc', 'del', 'dev', device, 'ingress']);
      changes.push(`removed policing on ${device}`);
    }
    return changes;
  }
  const current = hasIngress ? await policedRate(device) : undefined;
  if (current !== Math.floor(wantPolice / 8)) {
    await run(['tc', 'qdisc', 'del', 'dev', device, 'ingress']);
    await must(['tc', 'qdisc', 'add', 'dev', device, 'ingress']);
    await must([
      'tc',
      'filter',
      'add',
      'dev',
      device,
      'parent',
      'ffff:',
      'protocol',
      'all',
      'prio',
      '1',
      'matchall',
      'action',
      'police',
      'rate',
      `${wantPolice}bit`,
      'burst',
      String(burstBytes(wantPolice)),
      'drop',
    ]);
    changes.push(`policing ${device} to ${wantPolice} bit/s out of the tenant`);
  }
  return changes;
}

/** The police rate on the ingress qdisc, in bytes per second as tc reports it; undefined when none. */
async function policedRate(device: string): Promise<number | undefined> {
  const filters = JSON.parse(await must(['tc', '-j', 'filter', 'show', 'dev', device, 'ingress'])) as TcFilter[];
  for (const filter of filters) {
    for (const action of filter.options?.actions ?? []) {
      if (action.kind === 'police' && action.rate !== undefined) return parseTcRate(action.rate);
    }
  }
  return undefined;
}

/** tc prints rates as "1Mbit" or a number of bytes per second, depending on the version. */
export function parseTcRate(rate: string | number): number | undefined {
  if (typeof rate === 'number') return rate;
  const match = /^(\d+(?:\.\d+)?)([KMGT]?)bit$/i.exec(rate);
  if (!match) return undefined;
  const factor = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2].toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.floor((Number(match[1]) * factor) / 8);
}
