import { CodedError } from '../../../../libs/domain/src/errors';

export enum AdminTokenExceptionCode {
  NOT_FOUND = 'admin-token-not-found',
  NAME_TAKEN = 'admin-token-name-taken',
  ROOT_PROTECTED = 'admin-token-root-protected',
}

const STATUS: Record<AdminTokenExceptionCode, number> = {
  [AdminTokenExceptionCode.NOT_FOUND]: 404,
  [AdminTokenExceptionCode.NAME_TAKEN]: 409,
  [AdminTokenExceptionCode.ROOT_PROTECTED]: 409,
};

export class AdminTokenException extends CodedError<AdminTokenExceptionCode> {
  constructor(code: AdminTokenExceptionCode, message: string) {
    super(code, STATUS, message);
  }
}
