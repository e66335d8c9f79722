import type { Problem } from './api.types';

/** govctl's exit codes, documented in the README and in `govctl --help`. */
export const ExitCode = {
  OK: 0,
  API_ERROR: 1,
  USAGE: 2,
  CONNECTION: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
} as const;

/** An error govctl reports in one or more plain lines and exits with; never printed with a stack. */
export abstract class CliError extends Error {
  abstract readonly exitCode: number;
  /** the lines printed to stderr */
  lines(): string[] {
    return [`error: ${this.message}`];
  }
}

/** A command used wrongly: a bad flag value, a missing argument, no terminal to confirm on. */
export class UsageError extends CliError {
  readonly exitCode = ExitCode.USAGE;
}

/** The API could not be reached, or no server is configured. */
export class ConnectionError extends CliError {
  readonly exitCode = ExitCode.CONNECTION;
}

/** A problem+json answer: 404 exits 4, 409 and 412 exit 5, everything else 1. */
export class ApiError extends CliError {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }

  get exitCode(): number {
    if (this.problem.status === 404) return ExitCode.NOT_FOUND;
    if (this.problem.status === 409 || this.problem.status === 412) return ExitCode.CONFLICT;
    return ExitCode.API_ERROR;
  }

  override lines(): string[] {
    return formatProblem(this.problem);
  }
}

/** A problem document as lines: the status and detail, then each bad field, then the request id to quote. */
export function formatProblem(problem: Problem): string[] {
  const title = problem.title ? `${problem.status} ${problem.title}` : `HTTP ${problem.status}`;
  const lines = [problem.detail ? `error: ${title}: ${problem.detail}` : `error: ${title}`];
  for (const field of problem.errors ?? []) {
    const line = `${field.path || '(body)'}: ${field.message}`;
    // A problem with one bad field often says that field in its detail already.
    if (line !== problem.detail) lines.push(`  ${line}`);
  }
  if (problem.requestId) lines.push(`  request id: ${problem.requestId}`);
  return lines;
}

/** Turns any answer body into a problem: a proxy's HTML error page still gives its status and a line. */
export function toProblem(status: number, statusText: string, body: string): Problem {
  try {
    const parsed = JSON.parse(body) as Partial<Problem>;
    if (parsed && typeof parsed === 'object') return { ...parsed, status: typeof parsed.status === 'number' ? parsed.status : status };
  } catch {
    // not JSON: fall through
  }
  const firstLine = body.trim().split('\n')[0]?.slice(0, 200);
  return { status, title: statusText, ...(firstLine ? { detail: firstLine } : {}) };
}
