import { type FieldError, ValidationError } from '../../../../libs/domain/src/errors';

/** A JSON object whose keys were checked against the allowed ones; unknown keys are field errors. */
export function objectWithKeys(value: unknown, path: string, allowed: readonly string[], errors: FieldError[]): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push({ path: path || '(body)', message: `must be a JSON object with any of: ${allowed.join(', ')}` });
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      errors.push({ path: path ? `${path}.${key}` : key, message: `is not a known field; allowed: ${allowed.join(', ')}` });
    }
  }
  return record;
}

export function throwIfAny(errors: FieldError[]): void {
  if (errors.length > 0) throw new ValidationError(errors);
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Free text shown to people (display names, reasons): bounded, and without control characters. */
export function text(value: unknown, path: string, maxLength: number, errors: FieldError[]): string | undefined {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > maxLength || CONTROL_CHARACTERS.test(value)) {
    errors.push({ path, message: `must be a non-blank string of at most ${maxLength} characters without control characters` });
    return undefined;
  }
  return value;
}
