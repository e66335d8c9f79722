import { formatBitsPerSecond, formatBytes, formatCores } from './format';

/** The request form's fields, as typed: empty means "leave as it is". */
export interface QuotaRequestFields {
  cpuMax: string;
  memoryMax: string;
  memoryHigh: string;
  pidsMax: string;
  ingress: string;
  egress: string;
}

/**
 * The merge patch a request form asks for. Values go to the API as typed (it canonicalises "512Mi",
 * "1.5" or "100Mbit" and says what is wrong with anything else), except that plain numbers become numbers.
 */
export function quotaPatch(fields: QuotaRequestFields): Record<string, Record<string, string | number>> {
  const value = (raw: string): string | number => (/^\d+$/.test(raw) ? Number(raw) : raw);
  const patch: Record<string, Record<string, string | number>> = {};
  const put = (section: string, key: string, raw: string, asIs = false): void => {
    const text = raw.trim();
    if (text === '') return;
    (patch[section] ??= {})[key] = asIs ? text : value(text);
  };
  put('cpu', 'max', fields.cpuMax, true);
  put('memory', 'max', fields.memoryMax);
  put('memory', 'high', fields.memoryHigh);
  put('pids', 'max', fields.pidsMax);
  put('network', 'ingress', fields.ingress);
  put('network', 'egress', fields.egress);
  return patch;
}

const SIZE_SUFFIX: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A size or rate as the API accepts it ("512Mi", "1.5G", "100Mbit", 1024) in bytes or bit/s; undefined if it is neither. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?(?:bit)?$/.exec(value.trim());
  return match ? Number(match[1]) * SIZE_SUFFIX[match[2] ?? ''] : undefined;
}

const UNITS: Record<string, (n: number) => string> = {
  'cpu.max': formatCores,
  'memory.max': formatBytes,
  'memory.high': formatBytes,
  'memory.low': formatBytes,
  'memory.min': formatBytes,
  'memory.swapMax': formatBytes,
  'network.ingress': formatBitsPerSecond,
  'network.egress': formatBitsPerSecond,
};

/** A merge patch as lines a person reads: "memory.max → 512 MiB", "pids.max → removed". */
export function describePatch(patch: unknown, prefix = ''): string[] {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return [`${prefix || 'quota'} → ${JSON.stringify(patch)}`];
  return Object.entries(patch as Record<string, unknown>).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value === null) return [`${path} → removed`];
    if (typeof value === 'object' && !Array.isArray(value)) return describePatch(value, path);
    if (value === 'max') return [`${path} → unlimited`];
    const unit = UNITS[path];
    const n = parseQuantity(value);
    if (unit && n !== undefined) return [`${path} → ${unit(n)}`];
    return [`${path} → ${typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value)}`];
  });
}
