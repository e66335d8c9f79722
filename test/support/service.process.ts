import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const MAIN = join(__dirname, '..', '..', 'apps', 'governor', 'src', 'main.js');

/** A `wrapper` for startService that gives node these flags (which NODE_OPTIONS may not carry, e.g. --cpu-prof). */
export function withNodeFlags(...flags: string[]): string[] {
  return ['/bin/sh', '-c', `exec "$0" ${flags.map((flag) => `'${flag}'`).join(' ')} "$@"`];
}

/** The flags of a governor that answers `probeMemory` (test/support/heap-probe.ts). */
export const HEAP_PROBE_FLAGS = ['--expose-gc', '-r', join(__dirname, 'heap-probe.js')];

/** The memory of a governor started with HEAP_PROBE_FLAGS, in bytes, after a full garbage collection. */
export async function probeMemory(service: ServiceProcess, timeoutMs = 10_000): Promise<NodeJS.MemoryUsage> {
  // Only what the service writes after the signal is looked at.
  const from = service.stderr().length;
  service.child.kill('SIGUSR2');
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const line = /^heap-probe (.*)$/m.exec(service.stderr().slice(from));
    if (line !== null) return JSON.parse(line[1]) as NodeJS.MemoryUsage;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no heap-probe line within ${timeoutMs} ms (was the service started with HEAP_PROBE_FLAGS?)`);
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  /** the structured log: pino writes JSON lines to stdout */
  stdout: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the built service as a user would (node dist/…/main.js) and waits for its "listening on" line.
 * The environment is exactly `env` plus PATH (and NODE_OPTIONS), so no DATABASE_URL leaks in from the caller.
 * `wrapper` runs the service under another command (e.g. strace), which then is the child.
 */
export async function startService(env: Record<string, string>, timeoutMs = 60_000, main = MAIN, wrapper: string[] = []): Promise<ServiceProcess> {
  const [command, ...args] = [...wrapper, process.execPath, main];
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...(process.env.NODE_OPTIONS !== undefined && { NODE_OPTIONS: process.env.NODE_OPTIONS }),
      GOVERNOR_PORT: '0',
      GOVERNOR_LOG_LEVEL: 'info',
      ...(env.GOVERNOR_METRICS_TOKEN === undefined && { GOVERNOR_METRICS_PUBLIC: 'true' }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within ${timeoutMs}ms:\n${stderr}`)), timeoutMs);
    child.stderr.on('data', () => {
      const match = /listening on (https?:\/\/[^\s;]+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace('[::1]', '127.0.0.1'));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${stderr}`));
    });
  });
  // A service that dies while a benchmark or test still talks to it leaves only "other side closed" in the
  // caller's error: say how it ended, with the end of its logs, where the caller's output goes. A kill the
  // caller sent itself (SIGKILL, SIGTERM, SIGINT through `child`) is not news.
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (stopping || signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') return;
    const tail = (text: string) => text.split('\n').slice(-30).join('\n');
    process.stderr.write(`service ${main} exited unasked (code ${code}, signal ${signal})\n--- stderr ---\n${tail(stderr)}\n--- stdout ---\n${tail(stdout)}\n`);
  });
  return {
    child,
    url,
    stderr: () => stderr,
    stdout: () => stdout,
    stop: async (signal = 'SIGTERM') => {
      stopping = true;
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
