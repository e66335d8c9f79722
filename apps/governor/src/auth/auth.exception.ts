import { CodedError } from '../../../../libs/domain/src/errors';

export enum AuthExceptionCode {
  UNAUTHENTICATED = 'unauthenticated',
  FORBIDDEN = 'forbidden',
  RATE_LIMITED = 'rate-limited',
}

const STATUS: Record<AuthExceptionCode, number> = {
  [AuthExceptionCode.UNAUTHENTICATED]: 401,
  [AuthExceptionCode.FORBIDDEN]: 403,
  [AuthExceptionCode.RATE_LIMITED]: 429,
};

export class AuthException extends CodedError<AuthExceptionCode> {
  constructor(code: AuthExceptionCode, message: string, headers: Record<string, string> = {}) {
    super(code, STATUS, message);
    Object.assign(this.headers, headers);
  }
}
