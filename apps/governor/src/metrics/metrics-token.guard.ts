import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception';
import { bearerToken, hashToken, tokenMatches } from '../auth/token';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';

/**
 * GET /metrics is public unless GOVERNOR_METRICS_TOKEN is set; then it needs that token as a bearer
 * token. Both sides are hashed first, so the constant-time compare sees equal lengths and a timing
 * difference tells nothing about the token.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(GOVERNOR_CONFIG) config: GovernorConfig) {
    this.expected = config.metricsToken === undefined ? undefined : hashToken(config.metricsToken);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expected === undefined) return true;
    const token = bearerToken(context.switchToHttp().getRequest<Request>().headers.authorization);
    if (token === undefined) {
      throw new AuthException(
        AuthExceptionCode.UNAUTHENTICATED,
        'GET /metrics needs the metrics token (GOVERNOR_METRICS_TOKEN): send "Authorization: Bearer <token>"',
      );
    }
    if (!tokenMatches(token, this.expected)) throw new AuthException(AuthExceptionCode.UNAUTHENTICATED, 'the bearer token is not the metrics token');
    return true;
  }
}
