import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { AdminTokensService } from '../admin-tokens/admin-tokens.service';
import { TenantKeysService } from '../tenant-keys/tenant-keys.service';
import { TenantException } from '../tenants/tenant.exception';
import { ACCESS_KEY, type AccessLevel, type AuthenticatedRequest } from './access.decorator';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { AuthFailures } from './auth-failures';
import type { Principal } from './principal';
import { clientAddress, clientKey, TrustedProxies } from './client-address';
import { bearerToken, lookupIdOf } from './token';

/**
 * Global guard: every route is admin-only unless it says otherwise with @Access. Admin tokens reach the
 * admin routes, tenant keys reach /v1/me only. A tenant key on another tenant's resource gets the same
 * 404 as a tenant that does not exist, so that a tenant never learns another exists; on an admin
 * collection (or its own admin resource) it gets 403. Failed authentications are counted per client and
 * per credential (see AuthFailures).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly proxies: TrustedProxies;
  private readonly agentToken: Buffer | undefined;

  constructor(
    private readonly reflector: Reflector,
    private readonly adminTokens: AdminTokensService,
    private readonly tenantKeys: TenantKeysService,
    private readonly failures: AuthFailures,
    @Inject(GOVERNOR_CONFIG) config: GovernorConfig,
  ) {
    this.proxies = new TrustedProxies(config.trustedProxies);
    this.agentToken = config.agentToken === undefined ? undefined : Buffer.from(config.agentToken);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const level = this.reflector.getAllAndOverride<AccessLevel | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]) ?? 'admin';
    if (level === 'public') return true;

    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(req.headers.authorization);
    if (level === 'agent') {
      if (token === undefined || !this.isAgentToken(token)) this.refuse(req, token, 'the agent API takes only GOVERNOR_AGENT_TOKEN');
      return true;
    }
    const principal = token === undefined ? undefined : await this.authenticate(token);
    if (principal === undefined) this.refuse(req, token);
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

  /**
   * A failed authentication counts against the client and, for a token in the issued format, against its
   * lookup id, so that guessing one credential's secret from many addresses is limited as well.
   */
  private refuse(req: AuthenticatedRequest, token: string | undefined, expected?: string): never {
    const client = clientKey(clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.proxies));
    const credential = token === undefined ? undefined : credentialPrefix(token);
    const keys = [{ key: `client ${client}`, what: 'from this client' }];
    if (credential !== undefined) keys.push({ key: `credential ${credential}`, what: `for the credential ${credential}_…` });
    for (const { key, what } of keys) {
      const retryAfter = this.failures.retryAfterSeconds(key);
      if (retryAfter > 0) {
        throw new AuthException(
          AuthExceptionCode.RATE_LIMITED,
          `too many failed authentications ${what}; retry in ${retryAfter}s (a valid token is always accepted)`,
          { 'Retry-After': String(retryAfter) },
        );
      }
    }
    for (const { key } of keys) this.failures.record(key);
    throw new AuthException(
      AuthExceptionCode.UNAUTHENTICATED,
      (token === undefined ? 'no bearer token: send "Authorization: Bearer <token>"' : 'the bearer token is not valid: it is unknown, revoked or expired') +
        (expected === undefined ? '' : `; ${expected}`),
    );
  }

  private isAgentToken(token: string): boolean {
    const given = Buffer.from(token);
    return this.agentToken !== undefined && given.length === this.agentToken.length && timingSafeEqual(given, this.agentToken);
  }

  private async authenticate(token: string): Promise<Principal | undefined> {
    return token.startsWith('gvt_') ? this.tenantKeys.authenticate(token) : this.adminTokens.authenticate(token);
  }
}

/** `gva_<lookup id>` of a token in the issued format, or undefined for any other string. */
function credentialPrefix(token: string): string | undefined {
  for (const prefix of ['gva', 'gvt'] as const) {
    const lookupId = lookupIdOf(token, prefix);
    if (lookupId !== undefined) return `${prefix}_${lookupId}`;
  }
  return undefined;
}
