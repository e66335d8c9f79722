import { CodedError } from '../../../../libs/domain/src/errors';

export enum TenantKeyExceptionCode {
  NOT_FOUND = 'tenant-key-not-found',
  NAME_TAKEN = 'tenant-key-name-taken',
}

const STATUS: Record<TenantKeyExceptionCode, number> = {
  [TenantKeyExceptionCode.NOT_FOUND]: 404,
  [TenantKeyExceptionCode.NAME_TAKEN]: 409,
};

export class TenantKeyException extends CodedError<TenantKeyExceptionCode> {
  constructor(code: TenantKeyExceptionCode, message: string) {
    super(code, STATUS, message);
  }
}
