import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** How much of a log one request may read: the answer stays bounded whatever the workload printed. */
export const MAX_LOG_READ_BYTES = 1024 * 1024;

/**
 * The last `lines` lines of a workload's stdout.log or stderr.log (the current file; rotated ones hold
 * older output), reading at most MAX_LOG_READ_BYTES from the end.
 */
export async function tailLog(stateDir: string, stream: 'stdout' | 'stderr', lines: number): Promise<string> {
  const path = join(stateDir, `${stream}.log`);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return '';
  }
  const length = Math.min(size, MAX_LOG_READ_BYTES);
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    // A read that starts mid-file may start mid-line: drop the partial first line.
    const whole = length < size ? all.slice(1) : all;
    return whole.slice(-lines).join('\n') + (whole.length > 0 ? '\n' : '');
  } finally {
    await file.close();
  }
}
