import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';

/** How much of a log one request may read: the answer stays bounded whatever the workload printed. */
export const MAX_LOG_READ_BYTES = 1024 * 1024;

export type LogStream = 'stdout' | 'stderr';

/** What one read of a log returned, and where the next read should start to get only what follows. */
export interface LogRead {
  text: string;
  /**
   * `<inode>-<offset>` of the file the read ended in. The inode, not the name, identifies the file:
   * the monitor renames a full stdout.log to stdout.log.1, and a cursor must follow it there.
   */
  cursor: string;
}

/** `0` (the start of the current file) or `<inode>-<offset>` from an earlier LogRead. */
export const LOG_CURSOR = /^(?:0|[0-9]{1,20}-[0-9]{1,16})$/;

/**
 * The last `lines` lines of a workload's stdout.log or stderr.log (the current file; rotated ones hold
 * older output), reading at most MAX_LOG_READ_BYTES from the end.
 */
export async function tailLog(stateDir: string, stream: LogStream, lines: number): Promise<LogRead> {
  const file = await openLog(join(stateDir, `${stream}.log`));
  if (!file) return { text: '', cursor: '0' };
  try {
    const length = Math.min(file.size, MAX_LOG_READ_BYTES);
    const text = await readRange(file.handle, file.size - length, length);
    if (text === '') return { text: '', cursor: `${file.ino}-${file.size}` };
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    // A read that starts mid-file may start mid-line: drop the partial first line.
    const whole = length < file.size ? all.slice(1) : all;
    return { text: whole.slice(-lines).join('\n') + (whole.length > 0 ? '\n' : ''), cursor: `${file.ino}-${file.size}` };
  } finally {
    await file.handle.close();
  }
}

/**
 * What a workload wrote to a stream after `cursor`, at most MAX_LOG_READ_BYTES: the rest of the file the
 * cursor points into (the current one, or stdout.log.1 if it was rotated since), then the current file.
 * A cursor into a file that rotated out of reach (or `0`) reads the current file from its start.
 */
export async function readLogAfter(stateDir: string, stream: LogStream, cursor: string): Promise<LogRead> {
  const [ino, offset] = cursor === '0' ? [0n, 0] : [BigInt(cursor.split('-')[0]), Number(cursor.split('-')[1])];
  const current = await openLog(join(stateDir, `${stream}.log`));
  try {
    if (current && current.ino === ino) return await readFrom(current, Math.min(offset, current.size), MAX_LOG_READ_BYTES);
    let text = '';
    if (ino !== 0n) {
      const rotated = await openLog(join(stateDir, `${stream}.log.1`));
      if (rotated) {
        try {
          if (rotated.ino === ino) {
            const rest = await readFrom(rotated, Math.min(offset, rotated.size), MAX_LOG_READ_BYTES);
            if (!current || Buffer.byteLength(rest.text) >= MAX_LOG_READ_BYTES) return rest;
            text = rest.text;
          }
        } finally {
          await rotated.handle.close();
        }
      }
    }
    if (!current) return { text, cursor };
    const head = await readFrom(current, 0, MAX_LOG_READ_BYTES - Buffer.byteLength(text));
    return { text: text + head.text, cursor: head.cursor };
  } finally {
    await current?.handle.close();
  }
}

interface OpenLog {
  handle: FileHandle;
  ino: bigint;
  size: number;
}

async function openLog(path: string): Promise<OpenLog | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  // The size from the open file, not the path: the name may be renamed to .log.1 meanwhile.
  const info = await handle.stat({ bigint: true });
  return { handle, ino: info.ino, size: Number(info.size) };
}

/**
 * Reads from `start`, at most `limit` bytes: when the limit cuts, up to the last whole line; and never a
 * part of a UTF-8 character the workload has not finished writing, so the cursor stays on a boundary.
 */
async function readFrom(file: OpenLog, start: number, limit: number): Promise<LogRead> {
  const length = Math.min(file.size - start, limit);
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.handle.read(buffer, 0, length, start);
  let bytes = buffer.subarray(0, bytesRead);
  const lastNewline = bytes.lastIndexOf(0x0a);
  if (bytesRead === limit && lastNewline >= 0) bytes = bytes.subarray(0, lastNewline + 1);
  bytes = bytes.subarray(0, completeUtf8Length(bytes));
  return { text: bytes.toString('utf8'), cursor: `${file.ino}-${start + bytes.length}` };
}

/** The length of `bytes` without a trailing, incomplete UTF-8 sequence. */
export function completeUtf8Length(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

async function readRange(handle: FileHandle, position: number, length: number): Promise<string> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead).toString('utf8');
}
