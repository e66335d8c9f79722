import { CodedError } from '../../../../libs/domain/src/errors';
import { PORTAL_HEADERS } from './portal.headers';

export enum PortalExceptionCode {
  NOT_BUILT = 'portal-not-built',
  NOT_FOUND = 'portal-file-not-found',
}

const STATUS: Record<PortalExceptionCode, number> = {
  [PortalExceptionCode.NOT_BUILT]: 503,
  [PortalExceptionCode.NOT_FOUND]: 404,
};

/** A portal error; it carries the portal's security headers, so that an error page is as locked down as the page. */
export class PortalException extends CodedError<PortalExceptionCode> {
  constructor(code: PortalExceptionCode, message: string) {
    super(code, STATUS, message);
    Object.assign(this.headers, PORTAL_HEADERS);
  }
}
