import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AdminTokensService } from '../admin-tokens/admin-tokens.service';
import { ACCESS_KEY, type AccessLevel, type AuthenticatedRequest } from './access.decorator';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { bearerToken } from './token';

/** Global guard: every route is admin-only unless it says otherwise with @Access. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly adminTokens: AdminTokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const level = this.reflector.getAllAndOverride<AccessLevel | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]) ?? 'admin';
    if (level === 'public') return true;

    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) {
      throw new AuthException(AuthExceptionCode.UNAUTHENTICATED, 'no bearer token: send "Authorization: Bearer <token>"');
    }
    const principal = await this.adminTokens.authenticate(token);
    if (principal === undefined) {
      throw new AuthException(AuthExceptionCode.UNAUTHENTICATED, 'the bearer token is not valid: it is unknown, revoked or expired');
    }
    if (principal.kind !== level) {
      throw new AuthException(
        AuthExceptionCode.FORBIDDEN,
        level === 'admin' ? 'this route needs an admin token; tenant keys reach /v1/me only' : 'this route is for tenant keys; admins use /v1/tenants',
      );
    }
    req.principal = principal;
    return true;
  }
}
