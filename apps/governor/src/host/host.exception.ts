import { CodedError } from '../../../../libs/domain/src/errors';

export enum HostExceptionCode {
  UNAVAILABLE = 'host-unavailable',
  NOT_IN_ROLE = 'host-not-in-role',
  PROCESS_NOT_FOUND = 'process-not-found',
  PROCESS_REFUSED = 'process-refused',
  NOT_APPLIED = 'tenant-not-applied',
}

const STATUS: Record<HostExceptionCode, number> = {
  [HostExceptionCode.UNAVAILABLE]: 503,
  [HostExceptionCode.NOT_IN_ROLE]: 501,
  [HostExceptionCode.PROCESS_NOT_FOUND]: 404,
  [HostExceptionCode.PROCESS_REFUSED]: 400,
  [HostExceptionCode.NOT_APPLIED]: 409,
};

export class HostException extends CodedError<HostExceptionCode> {
  constructor(code: HostExceptionCode, message: string) {
    super(code, STATUS, message);
  }
}
