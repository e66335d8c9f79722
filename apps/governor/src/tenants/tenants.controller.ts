import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, RequestId } from '../auth/access.decorator';
import type { Principal } from '../auth/principal';
import { parseLimit } from '../common/pagination';
import { CreateTenantDto, LedgerPageDto, PatchTenantDto, TenantDto, TenantPageDto } from './dto/tenant.dto';
import { parseCreateTenant } from './tenant.request';
import { toTenantView } from './tenant.view';
import { etagOf, type LedgerEntryView, TenantsService } from './tenants.service';
import { TenantHostRouter } from '../host/tenant-host.router';
import type { Page } from '../common/pagination';
import { ValidationError } from '../../../../libs/domain/src/errors';
import { IDEMPOTENCY_KEY_HEADER } from '../idempotency/idempotency.request';
import { IdempotencyService } from '../idempotency/idempotency.service';

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('v1/tenants')
export class TenantsController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly idempotency: IdempotencyService,
    private readonly hosts: TenantHostRouter,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant' })
  @ApiBody({ type: CreateTenantDto })
  @ApiResponse({ status: 201, type: TenantDto })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiResponse({
    status: 409,
    description:
      'the name is taken, a tenant of that name is still terminating, or its guarantees (memory.min, cpuset CPUs) do not fit the capacity of its nodes (admission-refused, with the numbers)',
  })
  @ApiResponse({ status: 422, description: 'the Idempotency-Key was used before with a different request' })
  async create(
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TenantDto> {
    const request = { header: idempotencyKey, principal, operation: 'tenant.create', target: '', body, status: 201 };
    return this.idempotency.run(request, res, async () => {
      const input = parseCreateTenant(body);
      await this.hosts.checkRootfs(input.rootfs, input.nodes);
      const tenant = await this.tenants.create(input, { principal, requestId });
      res.setHeader('ETag', etagOf(tenant)).setHeader('Location', `/v1/tenants/${tenant.name}`);
      return this.tenants.view(tenant);
    });
  }

  @Get()
  @ApiOperation({ summary: 'List tenants, sorted by name' })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 500, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiOkResponse({ type: TenantPageDto })
  async list(@Query('limit') limit: unknown, @Query('cursor') cursor: unknown): Promise<TenantPageDto> {
    const page = await this.tenants.list(parseLimit(limit), cursor);
    const facts = await this.tenants.facts(page.items.map((t) => t.id));
    return { items: page.items.map((t) => toTenantView(t, facts(t.id))), nextCursor: page.nextCursor };
  }

  @Get(':name')
  @ApiOperation({ summary: 'Get a tenant with its status' })
  @ApiOkResponse({ type: TenantDto })
  async get(@Param('name') name: string, @Res({ passthrough: true }) res: Response): Promise<TenantDto> {
    const { tenant, view } = await this.tenants.read(name);
    res.setHeader('ETag', etagOf(tenant));
    return view;
  }

  @Patch(':name')
  @ApiOperation({ summary: 'Change a tenant with a JSON merge patch (RFC 7396)' })
  @ApiConsumes('application/merge-patch+json', 'application/json')
  @ApiBody({ type: PatchTenantDto })
  @ApiHeader({ name: 'If-Match', required: false, description: 'the ETag from a GET; a stale one answers 412' })
  @ApiQuery({ name: 'force', required: false, description: 'true: lower memory.max even when usage stays above it (the kernel may OOM-kill)' })
  @ApiOkResponse({ type: TenantDto })
  @ApiResponse({
    status: 409,
    description:
      'the tenant is terminating, or the change raises its guarantees (memory.min, cpuset CPUs) or moves them to nodes without room (admission-refused, with the numbers)',
  })
  async update(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Query('force') force: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TenantDto> {
    const tenant = await this.tenants.update(name, body, ifMatch, { principal, requestId }, parseFlag(force, 'force'));
    res.setHeader('ETag', etagOf(tenant));
    return this.tenants.view(tenant);
  }

  @Post(':name/suspend')
  @HttpCode(202)
  @ApiOperation({ summary: 'Freeze every process of the tenant (sets suspended; phase Suspended once frozen)' })
  @ApiResponse({ status: 202, type: TenantDto })
  async suspend(@Param('name') name: string, @CurrentPrincipal() principal: Principal, @RequestId() requestId: string | undefined): Promise<TenantDto> {
    return this.tenants.view(await this.tenants.update(name, { suspended: true }, undefined, { principal, requestId }));
  }

  @Post(':name/resume')
  @HttpCode(202)
  @ApiOperation({ summary: 'Thaw the tenant (clears suspended)' })
  @ApiResponse({ status: 202, type: TenantDto })
  async resume(@Param('name') name: string, @CurrentPrincipal() principal: Principal, @RequestId() requestId: string | undefined): Promise<TenantDto> {
    return this.tenants.view(await this.tenants.update(name, { suspended: false }, undefined, { principal, requestId }));
  }

  @Delete(':name')
  @HttpCode(202)
  @ApiOperation({ summary: 'Delete a tenant: it is Terminating until its processes, cgroups and namespaces are gone, then 404' })
  @ApiResponse({ status: 202, type: TenantDto })
  async remove(
    @Param('name') name: string,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<TenantDto> {
    return this.tenants.view(await this.tenants.remove(name, ifMatch, { principal, requestId }));
  }

  @Get(':name/history')
  @ApiOperation({ summary: 'The quota change ledger of a tenant, newest first' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiOkResponse({ type: LedgerPageDto })
  async history(@Param('name') name: string, @Query('limit') limit: unknown, @Query('cursor') cursor: unknown): Promise<Page<LedgerEntryView>> {
    return this.tenants.history(name, parseLimit(limit), cursor);
  }
}

/** `?force=true|false`; anything else is a 400 rather than a silent false. */
function parseFlag(value: unknown, name: string): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new ValidationError([{ path: name, message: `must be true or false; got ${JSON.stringify(value)}` }]);
}
