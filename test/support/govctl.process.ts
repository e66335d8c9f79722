import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The launcher users run (npx govctl, or govctl after a global install); it runs the build under dist/. */
export const GOVCTL_BIN = join(__dirname, '..', '..', '..', 'bin', 'govctl.js');

export interface GovctlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs govctl as a process with exactly `env` (plus PATH), stdin from `input` (or closed). */
export function runGovctl(args: string[], env: Record<string, string>, input = ''): Promise<GovctlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GOVCTL_BIN, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A command that never reads stdin may exit before the input is written: EPIPE then says nothing about it.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(input);
  });
}

/** A tmux server of its own (its own socket), so that a test never touches another tmux. */
export class TmuxSession {
  readonly socket = `govctl-test-${randomBytes(4).toString('hex')}`;

  constructor(
    readonly name: string,
    readonly size: { width: number; height: number } = { width: 180, height: 30 },
  ) {}

  private tmux(...args: string[]): string {
    const res = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }

  /** Starts `command` (a shell line) in a terminal of the given size, with `env` exported. */
  start(command: string, env: Record<string, string>): void {
    const exports = Object.entries(env)
      .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}';`)
      .join(' ');
    this.tmux('new-session', '-d', '-s', this.name, '-x', String(this.size.width), '-y', String(this.size.height), `${exports} ${command}; sleep 600`);
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** The screen as text; with colours as escape sequences when `escapes`. */
  capture(escapes = false): string {
    return this.tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.name);
  }

  /** Waits until the screen satisfies `done`; fails with the last screen. */
  async until(done: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.capture();
      if (done(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs}ms; the screen:\n${screen}`);
      await sleep(200);
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}
