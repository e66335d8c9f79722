import type { GovernorClient } from './api.client';

export type LogStream = 'stdout' | 'stderr';

/** The last cursor (Log-Cursor header) read of each stream; `0` is the start. */
export type LogCursors = Record<LogStream, string>;

const POLL_MS = 250;

/** Reads what each stream got after its cursor, writes it out, and moves the cursors on; true if anything came. */
export async function readNewOutput(
  client: GovernorClient,
  logsPath: string,
  cursors: LogCursors,
  write: (stream: LogStream, text: string) => void,
): Promise<boolean> {
  let any = false;
  for (const stream of ['stdout', 'stderr'] as const) {
    const res = await client.request<string>('GET', logsPath, { query: { stream, after: cursors[stream] }, text: true });
    if (res.body.length > 0) {
      write(stream, res.body);
      any = true;
    }
    cursors[stream] = res.headers.get('log-cursor') ?? cursors[stream];
  }
  return any;
}

/**
 * Streams a workload's stdout and stderr until `ended()` says it is over, then reads what is left. The
 * API has no push, so this polls: at most POLL_MS behind, and at once again while output keeps coming.
 */
export async function followOutput(
  client: GovernorClient,
  logsPath: string,
  cursors: LogCursors,
  write: (stream: LogStream, text: string) => void,
  ended: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    const done = await ended();
    // After the end is seen, one more read gets what was written before it; then nothing more can come.
    while (await readNewOutput(client, logsPath, cursors, write)) {
      // keep reading while a read came back with output: a burst may take several
    }
    if (done) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
