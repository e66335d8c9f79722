import { type FieldError, ValidationError } from './errors';
import { describeValue } from './json';

/**
 * A tenant name becomes part of cgroup paths, network namespace and interface names and metric labels,
 * so it is kept to a DNS-label-like form that is safe in all of them.
 */
export const TENANT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

export const TENANT_NAME_RULE =
  "a tenant name: 2 to 32 characters of lowercase letters a-z, digits 0-9 and '-', starting with a letter and ending with a letter or digit";

/** Returns the name unchanged when valid; throws a ValidationError saying what a name must look like. */
export function parseTenantName(value: unknown, path = 'name'): string {
  const errors: FieldError[] = [];
  const name = readTenantName(value, path, errors);
  if (name === undefined) throw new ValidationError(errors);
  return name;
}

/** As parseTenantName, but appends to the caller's error list instead of throwing. */
export function readTenantName(value: unknown, path: string, errors: FieldError[]): string | undefined {
  if (typeof value === 'string' && TENANT_NAME_PATTERN.test(value)) return value;
  errors.push({ path, message: `must be ${TENANT_NAME_RULE}; got ${describeValue(value)}` });
  return undefined;
}
