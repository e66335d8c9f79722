import { type FieldError, ValidationError } from '../../../../libs/domain/src/errors';

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
