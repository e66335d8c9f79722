import type { FieldError } from './errors';
import { describeValue } from './json';

/** dev_t on Linux: 12 bits of major and 20 bits of minor number. */
export const DEVICE_MAJOR_MAX = 4095;
export const DEVICE_MINOR_MAX = 1_048_575;

const DEVICE_ID = /^([0-9]{1,7}):([0-9]{1,7})$/;
const EXPECTED = `a block device as "major:minor" in ASCII digits, major 0 to ${DEVICE_MAJOR_MAX} and minor 0 to ${DEVICE_MINOR_MAX}, e.g. "8:0"`;

/** A block device number, e.g. "8:16". Canonical: without leading zeros ("008:00" → "8:0"). */
export function parseDeviceId(value: unknown, path: string, errors: FieldError[]): string | undefined {
  const match = typeof value === 'string' ? DEVICE_ID.exec(value) : null;
  if (!match) {
    errors.push({ path, message: `must be ${EXPECTED}; got ${describeValue(value)}` });
    return undefined;
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major > DEVICE_MAJOR_MAX || minor > DEVICE_MINOR_MAX) {
    const part = major > DEVICE_MAJOR_MAX ? `major ${major} past ${DEVICE_MAJOR_MAX}` : `minor ${minor} past ${DEVICE_MINOR_MAX}`;
    errors.push({ path, message: `has ${part}; expected ${EXPECTED}; got ${describeValue(value)}` });
    return undefined;
  }
  return `${major}:${minor}`;
}
