import type { FieldError } from '../../../../libs/domain/src/errors';
import { readObject } from '../../../../libs/domain/src/json';
import { throwIfAny } from '../common/body';
import { msRange, parseMilliseconds } from '../../../../libs/domain/src/duration';

export interface CreateTenantKeyInput {
  name: string;
  expiresAt: Date | null;
}

const NAME = /^[a-z][a-z0-9._-]{0,62}$/;
/** Keys expire within a year at most when an expiry is given; without one they live until revoked. */
const MAX_LIFETIME_MS = 366 * 86_400_000;
const LIFETIME = msRange(60_000, MAX_LIFETIME_MS);

/** `{name, expiresIn?: "30d"}` or `{name, expiresAt?: RFC 3339}`; one expiry at most. */
export function parseCreateTenantKey(body: unknown, now = Date.now()): CreateTenantKeyInput {
  const errors: FieldError[] = [];
  const record = readObject(body, '', 'a tenant key', ['name', 'expiresIn', 'expiresAt'], errors);
  const name = record?.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    errors.push({ path: 'name', message: "must be 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter, e.g. \"portal\"" });
  }
  let expiresAt: Date | null = null;
  if (record?.expiresIn !== undefined && record.expiresAt !== undefined) {
    errors.push({ path: 'expiresIn', message: 'give expiresIn or expiresAt, not both' });
  } else if (record?.expiresIn !== undefined) {
    const ms = parseMilliseconds(record.expiresIn, 'expiresIn', errors, LIFETIME);
    if (ms !== undefined) expiresAt = new Date(now + ms);
  } else if (record?.expiresAt !== undefined) {
    const at = typeof record.expiresAt === 'string' && /^\d{4}-\d\d-\d\dT/.test(record.expiresAt) ? new Date(record.expiresAt) : undefined;
    if (at === undefined || Number.isNaN(at.getTime()) || at.getTime() <= now || at.getTime() > now + MAX_LIFETIME_MS) {
      errors.push({ path: 'expiresAt', message: 'must be an RFC 3339 time in the future and within 366 days, e.g. 2030-01-01T00:00:00Z' });
    } else {
      expiresAt = at;
    }
  }
  throwIfAny(errors);
  return { name: name as string, expiresAt };
}
