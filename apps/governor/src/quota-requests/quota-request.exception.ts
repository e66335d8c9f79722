import { CodedError } from '../../../../libs/domain/src/errors';

export enum QuotaRequestExceptionCode {
  NOT_FOUND = 'quota-request-not-found',
  DECIDED = 'quota-request-decided',
  TOO_MANY = 'quota-request-too-many',
}

const STATUS: Record<QuotaRequestExceptionCode, number> = {
  [QuotaRequestExceptionCode.NOT_FOUND]: 404,
  [QuotaRequestExceptionCode.DECIDED]: 409,
  [QuotaRequestExceptionCode.TOO_MANY]: 409,
};

export class QuotaRequestException extends CodedError<QuotaRequestExceptionCode> {
  constructor(code: QuotaRequestExceptionCode, message: string) {
    super(code, STATUS, message);
  }
}
