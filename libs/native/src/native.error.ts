import { constants } from 'node:os';

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** The errno's name (EBUSY), or E<number> for one this Node does not name. */
export const errnoName = (errno: number): string => NAMES[errno] ?? `E${errno}`;

/** A failed native call: the operation, the path it was about, and the errno by name (EBUSY). */
export class NativeError extends Error {
  readonly code: string;

  constructor(
    readonly op: string,
    readonly path: string,
    readonly errno: number,
    detail?: string,
  ) {
    const code = errnoName(errno);
    super(`${op} ${path}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'NativeError';
    this.code = code;
  }
}
