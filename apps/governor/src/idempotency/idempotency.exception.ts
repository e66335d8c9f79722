import { CodedError, type FieldError } from '../../../../libs/domain/src/errors';

export enum IdempotencyExceptionCode {
  MALFORMED_KEY = 'idempotency-key-malformed',
  IN_PROGRESS = 'idempotency-key-in-progress',
  REUSED = 'idempotency-key-reused',
}

const STATUS: Record<IdempotencyExceptionCode, number> = {
  [IdempotencyExceptionCode.MALFORMED_KEY]: 400,
  [IdempotencyExceptionCode.IN_PROGRESS]: 409,
  [IdempotencyExceptionCode.REUSED]: 422,
};

export class IdempotencyException extends CodedError<IdempotencyExceptionCode> {
  constructor(code: IdempotencyExceptionCode, message: string, errors: FieldError[] = []) {
    super(code, STATUS, message);
    this.errors.push(...errors);
  }
}
