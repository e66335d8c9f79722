import { CodedError } from '../../../../libs/domain/src/errors';

export enum AuthExceptionCode {
  UNAUTHENTICATED = 'unauthenticated',
  FORBIDDEN = 'forbidden',
}

const STATUS: Record<AuthExceptionCode, number> = {
  [AuthExceptionCode.UNAUTHENTICATED]: 401,
  [AuthExceptionCode.FORBIDDEN]: 403,
};

export class AuthException extends CodedError<AuthExceptionCode> {
  constructor(code: AuthExceptionCode, message: string) {
    super(code, STATUS, message);
  }
}
