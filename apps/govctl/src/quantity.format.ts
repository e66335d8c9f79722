import type { Quota } from './api.types';

/**
 * Quantities in the units the API accepts, so that what govctl prints can be typed back: sizes in binary
 * units (512Mi), rates in bits (100Mbit), cores as decimals (1.5).
 */

const BINARY = ['Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const;
const BITS = ['Tbit', 'Gbit', 'Mbit', 'Kbit'] as const;

type Limit = number | 'max';

/** A size exactly: the largest binary unit that divides it (536870912 → 512Mi), else bytes. */
export function formatSize(value: Limit | undefined): string {
  if (value === undefined) return '-';
  if (value === 'max') return 'max';
  for (const [i, unit] of BINARY.entries()) {
    const factor = 1024 ** (BINARY.length - i);
    if (value >= factor && value % factor === 0) return `${value / factor}${unit}`;
  }
  return String(value);
}

/** A measured size, rounded to one decimal of its unit (123456789 → 117.7Mi). */
export function formatBytes(value: number | undefined): string {
  if (value === undefined) return '-';
  for (const [i, unit] of BINARY.entries()) {
    const factor = 1024 ** (BINARY.length - i);
    if (value >= factor) return `${trim((value / factor).toFixed(1))}${unit}`;
  }
  return String(Math.round(value));
}

/** A rate in bits per second exactly: 100000000 → 100Mbit. */
export function formatRate(value: Limit | undefined): string {
  if (value === undefined) return '-';
  if (value === 'max') return 'max';
  for (const [i, unit] of BITS.entries()) {
    const factor = 1000 ** (BITS.length - i);
    if (value >= factor && value % factor === 0) return `${value / factor}${unit}`;
  }
  return `${value}bit`;
}

/** A measured rate in bits per second, one decimal: 1234567 → 1.2Mbit. */
export function formatBitRate(value: number | undefined): string {
  if (value === undefined) return '-';
  for (const [i, unit] of BITS.entries()) {
    const factor = 1000 ** (BITS.length - i);
    if (value >= factor) return `${trim((value / factor).toFixed(1))}${unit}`;
  }
  return `${Math.round(value)}bit`;
}

/** A share as a percentage with one decimal: 0.4567 → 45.7%. */
export function formatPercent(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '-' : `${trim((ratio * 100).toFixed(1))}%`;
}

function trim(decimal: string): string {
  return decimal.replace(/\.0$/, '');
}

/** How long ago, as kubectl says it: 45s, 12m, 3h, 5d. */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** A canonical quota in the units a person types: the API takes this form back unchanged in meaning. */
export function readableQuota(quota: Quota): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (quota.cpu) out.cpu = { ...quota.cpu };
  // A merge patch has nulls (remove the field): they stay null.
  const size = (v: unknown) => (v === null ? null : formatSize(v as Limit));
  if (quota.memory) out.memory = Object.fromEntries(Object.entries(quota.memory).map(([k, v]) => [k, size(v)]));
  if (quota.pids) out.pids = { ...quota.pids };
  if (quota.io) {
    out.io = {
      ...quota.io,
      ...(quota.io.limits && {
        limits: quota.io.limits.map((l) => ({
          ...l,
          ...(l.rbps !== undefined && { rbps: size(l.rbps) }),
          ...(l.wbps !== undefined && { wbps: size(l.wbps) }),
        })),
      }),
    };
  }
  if (quota.cpuset) out.cpuset = { ...quota.cpuset };
  if (quota.network) {
    out.network = {
      ...quota.network,
      ...(quota.network.ingress !== undefined && { ingress: quota.network.ingress === null ? null : formatRate(quota.network.ingress) }),
      ...(quota.network.egress !== undefined && { egress: quota.network.egress === null ? null : formatRate(quota.network.egress) }),
    };
  }
  return out;
}

/** One line for a table cell: cpu=1.5 mem=512Mi pids=256 in=100Mbit out=50Mbit. */
export function quotaSummary(quota: Quota): string {
  const parts: string[] = [];
  if (quota.cpu?.max !== undefined) parts.push(`cpu=${quota.cpu.max}`);
  if (quota.memory?.max !== undefined) parts.push(`mem=${formatSize(quota.memory.max)}`);
  if (quota.memory?.high !== undefined) parts.push(`high=${formatSize(quota.memory.high)}`);
  if (quota.pids?.max !== undefined) parts.push(`pids=${quota.pids.max}`);
  if (quota.network?.ingress !== undefined) parts.push(`in=${formatRate(quota.network.ingress)}`);
  if (quota.network?.egress !== undefined) parts.push(`out=${formatRate(quota.network.egress)}`);
  return parts.join(' ') || '-';
}

/** Flattens a quota (or a patch of one) to dotted paths: {memory: {max: 1}} → [["memory.max", 1]]. */
export function flatten(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [[prefix, value]];
  return Object.entries(value).flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key));
}

/** The changes between two quotas, readable: "memory.max 512Mi→1Gi", "pids.max 256→(unset)". */
export function quotaChanges(before: Quota | null, after: Quota | null): string[] {
  const old = new Map(flatten(readableQuota(before ?? {})).filter(([k]) => k !== ''));
  const now = new Map(flatten(readableQuota(after ?? {})).filter(([k]) => k !== ''));
  const text = (v: unknown) => (v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v));
  const keys = [...new Set([...old.keys(), ...now.keys()])].sort();
  return keys.filter((k) => JSON.stringify(old.get(k)) !== JSON.stringify(now.get(k))).map((k) => `${k} ${text(old.get(k))}→${text(now.get(k))}`);
}
