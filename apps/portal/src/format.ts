// Formatting for people, and the problem+json → message translation. DOM-free: compiled and unit-tested
// by the root tsc as well as bundled by Vite.

/** A limit as the API gives it: a number, "max" for an explicit unlimited, or absent for not set. */
export type Limit = number | string | undefined | null;

const trim = (n: number, digits: number): string => {
  const fixed = n.toFixed(digits);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
};

/** Bytes in binary units: "512 B", "1.5 KiB", "256 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'not available';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  return `${sign}${trim(value, unit === 0 ? 0 : value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A network rate in decimal units, as tc and link speeds are given: "0 bit/s", "1.5 Mbit/s". */
export function formatBitsPerSecond(bits: number): string {
  if (!Number.isFinite(bits)) return 'not available';
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let value = Math.abs(bits);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${trim(value, value < 10 && unit > 0 ? 2 : 1)} ${units[unit]}`;
}

/** CPU time per second of wall time: "0.49 cores", "1 core". */
export function formatCores(cores: number): string {
  if (!Number.isFinite(cores)) return 'not available';
  const text = trim(cores, cores < 10 ? 2 : 1);
  return `${text} ${text === '1' ? 'core' : 'cores'}`;
}

/** A duration in seconds: "250 ms", "4.2 s", "3 min 4 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'not available';
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${trim(seconds, seconds < 10 ? 1 : 0)} s`;
  const whole = Math.round(seconds);
  const pairs: Array<[number, string]> = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const index = pairs.findIndex(([size]) => whole >= size);
  const [big, bigUnit] = pairs[index];
  const [small, smallUnit] = pairs[index + 1];
  const rest = Math.floor((whole % big) / small);
  return rest === 0 ? `${Math.floor(whole / big)} ${bigUnit}` : `${Math.floor(whole / big)} ${bigUnit} ${rest} ${smallUnit}`;
}

/** A limit from the canonical quota, with its unit: "256 MiB", "unlimited", "not set". */
export function formatLimit(limit: Limit, format: (n: number) => string): string {
  if (limit === undefined || limit === null) return 'not set';
  if (limit === 'max') return 'unlimited';
  const n = typeof limit === 'number' ? limit : Number(limit);
  return Number.isFinite(n) ? format(n) : String(limit);
}

/** A limit as a number, for scales and meters; undefined when unlimited or not set. */
export function limitValue(limit: Limit): number | undefined {
  if (limit === undefined || limit === null || limit === 'max') return undefined;
  const n = typeof limit === 'number' ? limit : Number(limit);
  return Number.isFinite(n) ? n : undefined;
}

/** An ISO timestamp as a short local date and time, or "—" for none. */
export function formatTime(iso: string | null | undefined, locale?: string): string {
  if (!iso) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return at.toLocaleString(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** One field error of a problem document. */
export interface ProblemFieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem document as Governor sends it; every field may be missing from a proxy's error. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: ProblemFieldError[];
  requestId?: string;
}

/** What a person reads for a failed call: a headline, one line per bad field, and the request id to quote. */
export interface ProblemMessage {
  headline: string;
  fields: string[];
  requestId?: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request was not accepted',
  401: 'The key is not valid, or has expired',
  403: 'This key may not do that',
  404: 'Not found',
  409: 'That conflicts with the current state',
  413: 'The request is too large',
  429: 'Too many attempts; wait a moment',
  500: 'The governor failed to answer',
  502: 'The governor could not be reached',
  503: 'The governor is not available right now',
};

/** The message for a failed call from its status and (parsed) body, whatever shape the body has. */
export function problemMessage(status: number, body: unknown): ProblemMessage {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Problem;
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
  const headline =
    text(problem.detail) ??
    text(problem.title) ??
    STATUS_TEXT[status] ??
    (status === 0 ? 'The governor could not be reached' : `Request failed (HTTP ${status})`);
  const fields = Array.isArray(problem.errors)
    ? problem.errors
        .filter((e): e is ProblemFieldError => typeof e === 'object' && e !== null && typeof e.message === 'string')
        .map((e) => (text(e.path) ? `${e.path}: ${e.message}` : e.message))
    : [];
  const requestId = text(problem.requestId);
  return requestId === undefined ? { headline, fields } : { headline, fields, requestId };
}
