import { execFile } from 'node:child_process';

/** A host tool (ip, tc, nft, nsenter) that failed: the command line, its exit code and what it said. */
export class NetworkCommandError extends Error {
  constructor(
    readonly command: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || 'no message'}`);
    this.name = 'NetworkCommandError';
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a host tool without a shell; never throws for a non-zero exit, the caller decides. */
export function run(command: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(command[0], command.slice(1), { encoding: 'utf8', timeout: 15_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code ?? 1) : null;
      if (code === null) reject(new NetworkCommandError(command, null, `${err?.message ?? ''} ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs a host tool and throws NetworkCommandError unless it exits 0. */
export async function must(command: string[], input?: string): Promise<string> {
  const result = await run(command, input);
  if (result.code !== 0) throw new NetworkCommandError(command, result.code, result.stderr);
  return result.stdout;
}

/** The same command inside a network namespace given by its bind-mounted file. */
export function inNetns(netnsPath: string, command: string[]): string[] {
  return ['nsenter', `--net=${netnsPath}`, '--', ...command];
}
