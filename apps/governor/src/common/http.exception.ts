import { CodedError, type FieldError } from '../../../../libs/domain/src/errors';

/** Why a request failed at the HTTP layer, before any feature saw it. */
export enum HttpExceptionCode {
  MALFORMED_JSON = 'malformed-json',
  MALFORMED_URL = 'malformed-url',
  PAYLOAD_TOO_LARGE = 'payload-too-large',
  UNSUPPORTED_MEDIA_TYPE = 'unsupported-media-type',
  ROUTE_NOT_FOUND = 'route-not-found',
  METHOD_NOT_ALLOWED = 'method-not-allowed',
  DATABASE_UNAVAILABLE = 'database-unavailable',
  DATABASE_DISK_FULL = 'database-disk-full',
  HOST_UNAVAILABLE = 'host-unavailable',
}

const STATUS: Record<HttpExceptionCode, number> = {
  [HttpExceptionCode.MALFORMED_JSON]: 400,
  [HttpExceptionCode.MALFORMED_URL]: 400,
  [HttpExceptionCode.PAYLOAD_TOO_LARGE]: 413,
  [HttpExceptionCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [HttpExceptionCode.ROUTE_NOT_FOUND]: 404,
  [HttpExceptionCode.METHOD_NOT_ALLOWED]: 405,
  [HttpExceptionCode.DATABASE_UNAVAILABLE]: 503,
  [HttpExceptionCode.DATABASE_DISK_FULL]: 503,
  [HttpExceptionCode.HOST_UNAVAILABLE]: 503,
};

export class HttpLayerException extends CodedError<HttpExceptionCode> {
  constructor(code: HttpExceptionCode, message: string, errors: FieldError[] = []) {
    super(code, STATUS, message);
    this.errors.push(...errors);
  }
}
