import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception';
import { bearerToken, tokenMatches } from '../auth/token';
import { MetricsTokenSource } from './metrics-token.source';

/**
 * GET /metrics needs the metrics token (see MetricsTokenSource) as a bearer token, unless
 * GOVERNOR_METRICS_PUBLIC=true. Both sides are hashed first, so the constant-time compare sees equal lengths
 * and a timing difference tells nothing about the token.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  constructor(private readonly source: MetricsTokenSource) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.source.expected();
    if (expected === undefined) return true;
    const token = bearerToken(context.switchToHttp().getRequest<Request>().headers.authorization);
    if (token === undefined) {
      throw new AuthException(
        AuthExceptionCode.UNAUTHENTICATED,
        `GET /metrics needs the metrics token (GOVERNOR_METRICS_TOKEN, or the one generated into ${this.source.file}): send "Authorization: Bearer <token>"`,
      );
    }
    if (!tokenMatches(token, expected)) throw new AuthException(AuthExceptionCode.UNAUTHENTICATED, 'the bearer token is not the metrics token');
    return true;
  }
}
