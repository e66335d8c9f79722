import { type FieldError, msRange, parseMilliseconds, type Quota, readQuota } from '../../../../libs/domain/src';
import { readObject } from '../../../../libs/domain/src/json';
import { throwIfAny } from '../common/body';
import { LOG_CURSOR, type LogStream } from '../../../../libs/workloads/src/logs';

export interface StartWorkloadInput {
  command: string[];
  env: Record<string, string>;
  cwd: string;
  quota: Quota;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ARGS = 256;
const MAX_ENV = 256;
const MAX_TEXT = 32 * 1024;

const hasNul = (value: string) => value.includes('\0');

/** A workload request: `{command: [absolute path, args...], env?, cwd?, quota?}`. Every bad field is named. */
export function parseStartWorkload(body: unknown): StartWorkloadInput {
  const errors: FieldError[] = [];
  const record = readObject(body, '', 'a workload', ['command', 'env', 'cwd', 'quota'], errors);
  if (!record) throwIfAny(errors);
  const command = record?.command;
  if (!Array.isArray(command) || command.length === 0 || command.length > MAX_ARGS) {
    errors.push({ path: 'command', message: `must be an array of 1 to ${MAX_ARGS} strings: an absolute path, then its arguments` });
  } else {
    command.forEach((arg, i) => {
      if (typeof arg !== 'string' || hasNul(arg) || arg.length > MAX_TEXT)
        errors.push({ path: `command[${i}]`, message: `must be a string of at most ${MAX_TEXT} characters without NUL` });
    });
    if (typeof command[0] === 'string' && !command[0].startsWith('/')) {
      errors.push({ path: 'command[0]', message: `must be an absolute path (there is no PATH search); got ${JSON.stringify(command[0])}` });
    }
  }
  const env: Record<string, string> = {};
  if (record?.env !== undefined) {
    const entries = typeof record.env === 'object' && record.env !== null && !Array.isArray(record.env) ? Object.entries(record.env) : undefined;
    if (!entries || entries.length > MAX_ENV) {
      errors.push({ path: 'env', message: `must be an object of at most ${MAX_ENV} NAME: value pairs` });
    } else {
      for (const [name, value] of entries) {
        if (!ENV_NAME.test(name))
          errors.push({ path: `env.${name}`, message: 'is not a valid variable name: letters, digits and _, not starting with a digit' });
        else if (typeof value !== 'string' || hasNul(value) || value.length > MAX_TEXT)
          errors.push({ path: `env.${name}`, message: `must be a string of at most ${MAX_TEXT} characters without NUL` });
        else env[name] = value;
      }
    }
  }
  const cwd = record?.cwd ?? '/';
  if (typeof cwd !== 'string' || !cwd.startsWith('/') || hasNul(cwd) || cwd.length > 4096) {
    errors.push({ path: 'cwd', message: 'must be an absolute path' });
  }
  const quota = readQuota(record?.quota ?? {}, 'quota', errors) ?? {};
  if (quota.network !== undefined) errors.push({ path: 'quota.network', message: 'network limits apply to the whole tenant, not to one workload' });
  throwIfAny(errors);
  return { command: command as string[], env, cwd: cwd as string, quota };
}

export interface LogQuery {
  streams: LogStream[];
  lines: number;
  /** `?after=<cursor>`: only what was written after the cursor of an earlier read (one stream) */
  after?: string;
}

/**
 * `?stream=stdout|stderr|both` and `?tail=<lines>` (default 100, at most 10000), or `?after=<cursor>` (the
 * Log-Cursor header of an earlier answer, or 0 for the start) to follow one stream.
 */
export function parseLogQuery(stream: unknown, tail: unknown, after?: unknown): LogQuery {
  const errors: FieldError[] = [];
  const which = stream ?? 'both';
  if (which !== 'stdout' && which !== 'stderr' && which !== 'both') errors.push({ path: 'stream', message: 'must be stdout, stderr or both' });
  const lines = tail === undefined ? 100 : typeof tail === 'string' && /^\d{1,5}$/.test(tail) ? Number(tail) : NaN;
  if (!(lines >= 1 && lines <= 10_000)) errors.push({ path: 'tail', message: 'must be a number of lines from 1 to 10000' });
  if (after !== undefined) {
    if (typeof after !== 'string' || !LOG_CURSOR.test(after))
      errors.push({ path: 'after', message: 'must be 0 or the Log-Cursor header of an earlier answer' });
    if (which === 'both') errors.push({ path: 'after', message: 'follows one stream: give stream=stdout or stream=stderr with it' });
    if (tail !== undefined) errors.push({ path: 'tail', message: 'give tail or after, not both' });
  }
  throwIfAny(errors);
  const streams: LogStream[] = which === 'both' ? ['stdout', 'stderr'] : [which as LogStream];
  return after === undefined ? { streams, lines } : { streams, lines, after: after as string };
}

export const LOG_AFTER_DESCRIPTION =
  'follow one stream: 0 for the start, or the Log-Cursor header of an earlier answer; the answer is what was written after it (at most 1 MiB) and its own Log-Cursor';

/** Puts a read's cursor (single-stream reads have one) in the Log-Cursor header and answers its text. */
export function sendLog(res: { setHeader(name: string, value: string): unknown }, read: { text: string; cursor?: string }): string {
  if (read.cursor !== undefined) res.setHeader('Log-Cursor', read.cursor);
  return read.text;
}

const GRACE = msRange(0, 600_000);

/** `?grace=10s`: 0s to 10m, default 10s. */
export function parseGrace(value: unknown): number {
  if (value === undefined) return 10_000;
  const errors: FieldError[] = [];
  const ms = parseMilliseconds(value, 'grace', errors, GRACE);
  throwIfAny(errors);
  return ms!;
}
