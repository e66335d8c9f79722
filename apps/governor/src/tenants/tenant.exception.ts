import { CodedError } from '../../../../libs/domain/src/errors';

export enum TenantExceptionCode {
  NOT_FOUND = 'tenant-not-found',
  ALREADY_EXISTS = 'tenant-already-exists',
  TERMINATING = 'tenant-terminating',
  STALE = 'tenant-stale',
  POOL_EXHAUSTED = 'tenant-pool-exhausted',
}

const STATUS: Record<TenantExceptionCode, number> = {
  [TenantExceptionCode.NOT_FOUND]: 404,
  [TenantExceptionCode.ALREADY_EXISTS]: 409,
  [TenantExceptionCode.TERMINATING]: 409,
  [TenantExceptionCode.STALE]: 412,
  [TenantExceptionCode.POOL_EXHAUSTED]: 409,
};

export class TenantException extends CodedError<TenantExceptionCode> {
  constructor(code: TenantExceptionCode, message: string) {
    super(code, STATUS, message);
  }

  static notFound(name: string): TenantException {
    return new TenantException(TenantExceptionCode.NOT_FOUND, `no tenant is named ${JSON.stringify(name)}`);
  }
}
