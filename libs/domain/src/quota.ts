import { type FieldError, ValidationError } from './errors';
import { childPath, describeValue, isJsonObject, readObject, type Parser } from './json';
import { checkCpu, checkIoDevicesUnique, checkMemoryOrder } from './quota-rules';
import type {
  CpuQuota,
  CpusetQuota,
  FilesystemQuota,
  IoDeviceLimit,
  IoQuota,
  MemoryQuota,
  NetworkQuota,
  PidsQuota,
  Quota,
  WorkloadsQuota,
} from './quota.types';
import {
  parseCores,
  parseCount,
  parseCpuList,
  parseDeviceId,
  parseDuration,
  parseIoBytes,
  parseIoOps,
  parseMemoryNodeList,
  parsePidsMax,
  parseRate,
  parseSize,
  parseWeight,
} from './units';

export const QUOTA_SECTIONS = ['cpu', 'memory', 'pids', 'io', 'cpuset', 'network', 'filesystem', 'workloads'] as const;
export const CPU_FIELDS = ['max', 'period', 'weight', 'burst'] as const;
export const MEMORY_FIELDS = ['max', 'high', 'low', 'min', 'swapMax'] as const;
export const PIDS_FIELDS = ['max', 'onLimit'] as const;
export const IO_FIELDS = ['weight', 'limits'] as const;
export const IO_LIMIT_FIELDS = ['device', 'rbps', 'wbps', 'riops', 'wiops'] as const;
export const IO_RATE_FIELDS = ['rbps', 'wbps', 'riops', 'wiops'] as const;
export const CPUSET_FIELDS = ['cpus', 'mems'] as const;
export const NETWORK_FIELDS = ['ingress', 'egress', 'outside'] as const;
export const FILESYSTEM_FIELDS = ['tmpSize', 'homeSize'] as const;
export const WORKLOADS_FIELDS = ['max'] as const;
/** Concurrent workloads a tenant may run when its quota says nothing. */
export const DEFAULT_WORKLOADS_MAX = 64;
/** The smallest tmpfs and home Governor makes: an ext4 home needs room for its journal and metadata. */
export const MIN_TMP_SIZE = 1024 * 1024;
export const MIN_HOME_SIZE = 16 * 1024 * 1024;

/**
 * Validates a quota as a client sends it (or as it was stored) and returns its canonical form. Every
 * bad field is reported in one ValidationError. The canonical form is valid input that parses to
 * itself; sections with nothing set are left out, so `{ "cpu": {} }` and `{}` mean the same.
 */
export function parseQuota(input: unknown, path = 'quota'): Quota {
  const errors: FieldError[] = [];
  const quota = readQuota(input, path, errors);
  if (errors.length > 0 || quota === undefined) throw new ValidationError(errors);
  return quota;
}

/** As parseQuota, but appends to the caller's error list, for validating a quota inside a larger body. */
export function readQuota(input: unknown, path: string, errors: FieldError[]): Quota | undefined {
  const record = readObject(input, path, 'a quota', QUOTA_SECTIONS, errors);
  if (!record) return undefined;
  return (
    compact({
      cpu: field(record, 'cpu', path, errors, readCpu),
      memory: field(record, 'memory', path, errors, readMemory),
      pids: field(record, 'pids', path, errors, readPids),
      io: field(record, 'io', path, errors, readIo),
      cpuset: field(record, 'cpuset', path, errors, readCpuset),
      network: field(record, 'network', path, errors, readNetwork),
      filesystem: field(record, 'filesystem', path, errors, readFilesystem),
      workloads: field(record, 'workloads', path, errors, readWorkloads),
    }) ?? {}
  );
}

function readCpu(value: unknown, path: string, errors: FieldError[]): CpuQuota | undefined {
  const record = readObject(value, path, 'the cpu section', CPU_FIELDS, errors);
  if (!record) return undefined;
  const max = field(record, 'max', path, errors, parseCores);
  const period = field(record, 'period', path, errors, parseDuration);
  const weight = field(record, 'weight', path, errors, parseWeight);
  const burst = field(record, 'burst', path, errors, parseDuration);
  checkCpu({ max, period, burst, maxGiven: present(record, 'max'), periodGiven: present(record, 'period') }, path, errors);
  return compact({ max, period: period?.text, weight, burst: burst?.text });
}

function readMemory(value: unknown, path: string, errors: FieldError[]): MemoryQuota | undefined {
  const record = readObject(value, path, 'the memory section', MEMORY_FIELDS, errors);
  if (!record) return undefined;
  const memory: MemoryQuota = {};
  for (const key of MEMORY_FIELDS) memory[key] = field(record, key, path, errors, parseSize);
  checkMemoryOrder(memory, path, errors);
  return compact(memory);
}

function readPids(value: unknown, path: string, errors: FieldError[]): PidsQuota | undefined {
  const record = readObject(value, path, 'the pids section', PIDS_FIELDS, errors);
  return record && compact({ max: field(record, 'max', path, errors, parsePidsMax), onLimit: field(record, 'onLimit', path, errors, parseOnLimit) });
}

function readIo(value: unknown, path: string, errors: FieldError[]): IoQuota | undefined {
  const record = readObject(value, path, 'the io section', IO_FIELDS, errors);
  if (!record) return undefined;
  const weight = field(record, 'weight', path, errors, parseWeight);
  const limits = field(record, 'limits', path, errors, readIoLimits);
  return compact({ weight, limits: limits?.length ? limits : undefined });
}

const readIoLimits: Parser<IoDeviceLimit[]> = (value, path, errors) => {
  if (!Array.isArray(value)) {
    errors.push({ path, message: `must be an array of per-device limits, each {device, rbps?, wbps?, riops?, wiops?}; got ${describeValue(value)}` });
    return undefined;
  }
  const entries = value.map((entry, i) => readIoLimit(entry, `${path}[${i}]`, errors));
  checkIoDevicesUnique(
    entries.map((entry) => entry.device),
    path,
    errors,
  );
  // Sorted by device so that the same limits in another order are the same canonical quota.
  return entries.flatMap((entry) => entry.limit ?? []).sort(byDevice);
};

/** The device on its own as well, so that duplicates are found even when an entry's limits are bad. */
function readIoLimit(value: unknown, path: string, errors: FieldError[]): { device?: string; limit?: IoDeviceLimit } {
  const record = readObject(value, path, 'an io limit', IO_LIMIT_FIELDS, errors);
  if (!record) return {};
  if (!present(record, 'device')) errors.push({ path: childPath(path, 'device'), message: 'is required: the block device as "major:minor", e.g. "8:0"' });
  if (!IO_RATE_FIELDS.some((key) => present(record, key))) {
    errors.push({ path, message: `must set at least one of ${IO_RATE_FIELDS.join(', ')}: an entry without limits has no effect` });
  }
  const device = field(record, 'device', path, errors, parseDeviceId);
  const rates = compact({
    rbps: field(record, 'rbps', path, errors, parseIoBytes),
    wbps: field(record, 'wbps', path, errors, parseIoBytes),
    riops: field(record, 'riops', path, errors, parseIoOps),
    wiops: field(record, 'wiops', path, errors, parseIoOps),
  });
  return { device, limit: device === undefined || rates === undefined ? undefined : { device, ...rates } };
}

function readCpuset(value: unknown, path: string, errors: FieldError[]): CpusetQuota | undefined {
  const record = readObject(value, path, 'the cpuset section', CPUSET_FIELDS, errors);
  return record && compact({ cpus: field(record, 'cpus', path, errors, parseCpuList), mems: field(record, 'mems', path, errors, parseMemoryNodeList) });
}

function readNetwork(value: unknown, path: string, errors: FieldError[]): NetworkQuota | undefined {
  const record = readObject(value, path, 'the network section', NETWORK_FIELDS, errors);
  return (
    record &&
    compact({
      ingress: field(record, 'ingress', path, errors, parseRate),
      egress: field(record, 'egress', path, errors, parseRate),
      outside: field(record, 'outside', path, errors, parseSwitch),
    })
  );
}

function readFilesystem(value: unknown, path: string, errors: FieldError[]): FilesystemQuota | undefined {
  const record = readObject(value, path, 'the filesystem section', FILESYSTEM_FIELDS, errors);
  return (
    record &&
    compact({
      tmpSize: field(record, 'tmpSize', path, errors, boundedSize(MIN_TMP_SIZE)),
      homeSize: field(record, 'homeSize', path, errors, boundedSize(MIN_HOME_SIZE)),
    })
  );
}

function readWorkloads(value: unknown, path: string, errors: FieldError[]): WorkloadsQuota | undefined {
  const record = readObject(value, path, 'the workloads section', WORKLOADS_FIELDS, errors);
  const max =
    record && field(record, 'max', path, errors, (v, p, e) => parseCount(v, p, e, { min: 1, max: 10_000, unlimited: false, what: 'a number of workloads' }));
  return record && compact({ max: typeof max === 'number' ? max : undefined });
}

/** A size in bytes, not "max" (a tmpfs or a home image is always sized), of at least `min`. */
function boundedSize(min: number): Parser<number> {
  return (value, path, errors) => {
    const size = parseSize(value, path, errors);
    if (size === undefined) return undefined;
    if (size === 'max' || size < min) {
      errors.push({ path, message: `must be a size of at least ${min} bytes (${min / 1024 / 1024}Mi); got ${describeValue(value)}` });
      return undefined;
    }
    return size;
  };
}

const parseOnLimit: Parser<'none' | 'kill'> = (value, path, errors) => {
  if (value === 'none' || value === 'kill') return value;
  errors.push({ path, message: `must be "none" (record an event) or "kill" (also evict the workload); got ${describeValue(value)}` });
  return undefined;
};

const parseSwitch: Parser<boolean> = (value, path, errors) => {
  if (typeof value === 'boolean') return value;
  errors.push({ path, message: `must be true or false; got ${describeValue(value)}` });
  return undefined;
};

/**
 * A merge patch of a quota in the API's canonical form, so that clients can compare: nulls are kept (they
 * remove a field) and every other value is written as parseQuota writes it ("512Mi" becomes 536870912).
 * A value that is only valid merged with the rest of the quota (say a tiny cpu.max against a longer
 * period the tenant already has) is kept as given: the merged quota is what gets validated.
 */
export function canonicalQuotaPatch(patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [section, fields] of Object.entries(patch)) {
    if (!isJsonObject(fields)) {
      out[section] = fields;
      continue;
    }
    const canonical: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(fields)) {
      canonical[field] = value === null ? null : (canonicalField(section, field, value) ?? value);
    }
    out[section] = canonical;
  }
  return out;
}

function canonicalField(section: string, field: string, value: unknown): unknown {
  try {
    return (parseQuota({ [section]: { [field]: value } }) as Record<string, Record<string, unknown> | undefined>)[section]?.[field];
  } catch {
    return undefined;
  }
}

/**
 * Own properties only: a key such as "constructor" must not be read from Object.prototype. A property
 * holding undefined (never in JSON, but easy to build in JavaScript) counts as absent, as in TypeScript.
 */
function present(record: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(record, key) && record[key] !== undefined;
}

function field<T>(record: Record<string, unknown>, key: string, path: string, errors: FieldError[], parse: Parser<T>): T | undefined {
  return present(record, key) ? parse(record[key], childPath(path, key), errors) : undefined;
}

/** Drops unset (undefined) properties; an object with nothing left is itself unset. */
function compact<T extends object>(object: T): T | undefined {
  const entries = Object.entries(object).filter(([, value]) => value !== undefined);
  return entries.length > 0 ? (Object.fromEntries(entries) as T) : undefined;
}

function byDevice(a: IoDeviceLimit, b: IoDeviceLimit): number {
  const [aMajor, aMinor] = a.device.split(':').map(Number);
  const [bMajor, bMinor] = b.device.split(':').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}
