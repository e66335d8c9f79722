import { constants } from 'node:os';

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** A failed native call: the operation, the path it was about, and the errno by name (EBUSY). */
export class NativeError extends Error {
  readonly code: string;

  constructor(
    readonly op: string,
    readonly path: string,
    readonly errno: number,
    detail?: string,
  ) {
    const code = NAMES[errno] ?? `E${errno}`;
    super(`${op} ${path}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'NativeError';
    this.code = code;
  }
}
