import { DomainError } from '../../../../libs/domain/src/errors';

export enum AuthExceptionCode {
  UNAUTHENTICATED = 'unauthenticated',
  FORBIDDEN = 'forbidden',
}

export class AuthException extends DomainError {
  readonly status: number;

  constructor(
    readonly code: AuthExceptionCode,
    message: string,
  ) {
    super(message);
    this.status = code === AuthExceptionCode.UNAUTHENTICATED ? 401 : 403;
  }
}
