import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AdminTokensService } from '../admin-tokens/admin-tokens.service';
import { TenantKeysService } from '../tenant-keys/tenant-keys.service';
import { TenantException } from '../tenants/tenant.exception';
import { ACCESS_KEY, type AccessLevel, type AuthenticatedRequest } from './access.decorator';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { AuthFailures } from './auth-failures';
import type { Principal } from './principal';
import { bearerToken } from './token';

/**
 * Global guard: every route is admin-only unless it says otherwise with @Access. Admin tokens reach the
 * admin routes, tenant keys reach /v1/me only. A tenant key on another tenant's resource gets the same
 * 404 as a tenant that does not exist, so that a tenant never learns another exists; on an admin
 * collection (or its own admin resource) it gets 403. Failed authentications are counted per client.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly adminTokens: AdminTokensService,
    private readonly tenantKeys: TenantKeysService,
    private readonly failures: AuthFailures,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const level = this.reflector.getAllAndOverride<AccessLevel | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]) ?? 'admin';
    if (level === 'public') return true;

    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const retryAfter = this.failures.retryAfterSeconds(client);
    if (retryAfter > 0) {
      throw new AuthException(AuthExceptionCode.RATE_LIMITED, `too many failed authentications from this client; retry in ${retryAfter}s`, {
        'Retry-After': String(retryAfter),
      });
    }
    const token = bearerToken(req.headers.authorization);
    const principal = token === undefined ? undefined : await this.authenticate(token);
    if (principal === undefined) {
      this.failures.record(client);
      throw new AuthException(
        AuthExceptionCode.UNAUTHENTICATED,
        token === undefined ? 'no bearer token: send "Authorization: Bearer <token>"' : 'the bearer token is not valid: it is unknown, revoked or expired',
      );
    }
    if (principal.kind === 'tenant' && level === 'admin') {
      const name = (req.params as Record<string, string | undefined>).name;
      if (name !== undefined && name !== principal.tenantName) throw TenantException.notFound(name);
      throw new AuthException(
        AuthExceptionCode.FORBIDDEN,
        'tenant keys reach /v1/me only: GET /v1/me, /v1/me/usage, /v1/me/workloads, /v1/me/events, /v1/me/quota-requests',
      );
    }
    if (principal.kind === 'admin' && level === 'tenant') {
      throw new AuthException(AuthExceptionCode.FORBIDDEN, 'this route is for tenant keys (gvt_…); admins use /v1/tenants/{name}');
    }
    req.principal = principal;
    return true;
  }

  private async authenticate(token: string): Promise<Principal | undefined> {
    return token.startsWith('gvt_') ? this.tenantKeys.authenticate(token) : this.adminTokens.authenticate(token);
  }
}
