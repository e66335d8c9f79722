import type { FieldError } from '../../../../libs/domain/src/errors';
import { readObject } from '../../../../libs/domain/src/json';
import { throwIfAny } from '../common/body';

export interface CreateAdminTokenInput {
  name: string;
  expiresAt: Date | undefined;
}

const NAME = /^[a-z][a-z0-9._-]{0,62}$/;

export function parseCreateAdminToken(body: unknown): CreateAdminTokenInput {
  const errors: FieldError[] = [];
  const record = readObject(body, '', 'an admin token', ['name', 'expiresAt'], errors);
  const name = record?.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    errors.push({ path: 'name', message: "must be 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter" });
  } else if (name === 'root') {
    errors.push({ path: 'name', message: '"root" is reserved for the bootstrap token' });
  }
  let expiresAt: Date | undefined;
  if (record?.expiresAt !== undefined) {
    expiresAt = typeof record.expiresAt === 'string' && /^\d{4}-\d\d-\d\dT/.test(record.expiresAt) ? new Date(record.expiresAt) : undefined;
    if (expiresAt === undefined || Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now()) {
      errors.push({ path: 'expiresAt', message: 'must be an RFC 3339 time in the future, e.g. 2030-01-01T00:00:00Z' });
    }
  }
  throwIfAny(errors);
  return { name: name as string, expiresAt };
}
