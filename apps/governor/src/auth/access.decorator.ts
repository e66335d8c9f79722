import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import { requestIdOf } from '../common/request-id';
import type { Principal } from './principal';

/**
 * Who may call a route. Routes without the decorator are admin-only, so a forgotten decorator fails closed.
 * `agent` routes (the internal agent API) take only GOVERNOR_AGENT_TOKEN.
 */
export type AccessLevel = 'public' | 'admin' | 'tenant' | 'agent';
export const ACCESS_KEY = 'governor:access';
export const Access = (level: AccessLevel) => SetMetadata(ACCESS_KEY, level);

export type AuthenticatedRequest = Request & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});

export const RequestId = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined => requestIdOf(ctx.switchToHttp().getRequest<Request>()));
