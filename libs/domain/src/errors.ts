/** One bad field: where it is (a dotted path such as `quota.memory.high`) and what is wrong and allowed. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Base of every error the domain raises on purpose. The HTTP layer maps these to problem+json in one
 * filter; anything that is not a DomainError is a bug and becomes a 500.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  readonly errors: FieldError[];
  /** response headers that go with the error, e.g. Retry-After on a 429 */
  readonly headers: Record<string, string> = {};

  constructor(message: string, errors: FieldError[] = []) {
    super(message);
    this.name = new.target.name;
    this.errors = errors;
  }
}

/** The request names something that is malformed or out of range. Each field error says what is allowed. */
export class ValidationError extends DomainError {
  readonly status = 400;
  readonly code = 'validation';

  constructor(errors: FieldError[], message = describe(errors)) {
    super(message, errors);
  }
}

function describe(errors: FieldError[]): string {
  if (errors.length === 1) return `${errors[0].path}: ${errors[0].message}`;
  return `${errors.length} fields are invalid: ${errors.map((e) => e.path).join(', ')}`;
}

/**
 * A feature's error: a code from the feature's enum, with the HTTP status looked up in the feature's own
 * table, so that every code has a status and the filter needs no per-feature knowledge.
 */
export abstract class CodedError<C extends string> extends DomainError {
  readonly status: number;

  protected constructor(
    readonly code: C,
    statuses: Record<C, number>,
    message: string,
  ) {
    super(message);
    this.status = statuses[code];
  }
}
