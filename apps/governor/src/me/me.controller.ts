import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiProperty, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal, RequestId } from '../auth/access.decorator';
import type { Response } from 'express';
import type { Principal } from '../auth/principal';
import { IDEMPOTENCY_KEY_HEADER } from '../idempotency/idempotency.request';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { parseLimit } from '../common/pagination';
import { parseCreateQuotaRequest } from '../quota-requests/quota-request.request';
import { type QuotaRequestView, QuotaRequestsService } from '../quota-requests/quota-requests.service';
import type { TenantEventView } from '../tenant-events/tenant-events.service';
import { QuotaPatchDto } from '../tenants/dto/quota.dto';
import { TenantDto } from '../tenants/dto/tenant.dto';
import { WorkloadDto, WorkloadListDto } from '../workloads/dto/workload.dto';
import { QuotaRequestDto, QuotaRequestListDto } from '../quota-requests/dto/quota-request.dto';
import { sendLog } from '../workloads/workload.request';
import { WorkloadRouter } from '../workloads/workload-router';
import type { WorkloadView } from '../workloads/workloads.service';
import { type RoutedMyUsage, MeService } from './me.service';
import { WorkloadLogRoute } from '../workloads/workload-log.decorator';

class CreateQuotaRequestDto {
  @ApiProperty({ type: QuotaPatchDto, description: 'a JSON merge patch of your quota (null removes a field)', example: { memory: { max: '1Gi' } } })
  quota!: QuotaPatchDto;
  @ApiProperty({ example: 'the nightly build needs 1 GiB', description: 'at most 1000 characters' })
  reason!: string;
}

/** The tenant's own API. Which tenant comes from its key, never from the path. */
const tenantOf = (principal: Principal): string => {
  if (principal.kind !== 'tenant') throw new Error('a /v1/me route was reached without a tenant key');
  return principal.tenantName;
};

@ApiTags('me (tenant keys)')
@ApiBearerAuth()
@Access('tenant')
@Controller('v1/me')
export class MeController {
  constructor(
    private readonly me: MeService,
    private readonly workloads: WorkloadRouter,
    private readonly requests: QuotaRequestsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Your tenant: quota, status, uid range, address' })
  @ApiResponse({ status: 200, type: TenantDto })
  async view(@CurrentPrincipal() principal: Principal): Promise<TenantDto> {
    return this.me.view(tenantOf(principal));
  }

  @Get('usage')
  @ApiOperation({
    summary:
      'Live usage from your cgroup and link, and the last 30 minutes at 5 s (in memory: it starts over when the governor restarts). On a fleet, `nodes` holds each of your nodes, or why its agent did not answer',
  })
  async usage(@CurrentPrincipal() principal: Principal): Promise<RoutedMyUsage> {
    return this.me.usage(tenantOf(principal));
  }

  @Get('events')
  @ApiOperation({ summary: 'OOM kills, throttling episodes, workloads that ended badly and quota changes, newest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 500, default 50' })
  async events(@CurrentPrincipal() principal: Principal, @Query('limit') limit: unknown): Promise<{ items: TenantEventView[] }> {
    return { items: await this.me.eventsOf(tenantOf(principal), parseLimit(limit)) };
  }

  @Post('workloads')
  @ApiOperation({ summary: 'Start a process in your tenant (as uid 0 inside your user namespace), under your quota' })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiResponse({ status: 201, type: WorkloadDto })
  async startWorkload(
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<WorkloadView> {
    const tenant = tenantOf(principal);
    const request = { header: idempotencyKey, principal, operation: 'workload.start', target: tenant, body, status: 201 };
    return this.idempotency.run(request, res, () => this.workloads.start(tenant, body, { principal, requestId }));
  }

  @Get('workloads')
  @ApiOperation({ summary: 'Your workloads, newest first' })
  @ApiResponse({ status: 200, type: WorkloadListDto })
  async listWorkloads(@CurrentPrincipal() principal: Principal): Promise<{ items: WorkloadView[] }> {
    return { items: await this.workloads.list(tenantOf(principal)) };
  }

  @Get('workloads/:id')
  @ApiResponse({ status: 200, type: WorkloadDto })
  async getWorkload(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<WorkloadView> {
    return this.workloads.get(tenantOf(principal), id);
  }

  @Get('workloads/:id/logs')
  @WorkloadLogRoute()
  async logs(
    @Param('id') id: string,
    @Query('stream') stream: unknown,
    @Query('tail') tail: unknown,
    @Query('after') after: unknown,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return sendLog(res, await this.workloads.logs(tenantOf(principal), id, stream, tail, after));
  }

  @Delete('workloads/:id')
  @HttpCode(202)
  @ApiQuery({ name: 'grace', required: false, description: 'time between SIGTERM and cgroup.kill, default 10s' })
  @ApiResponse({ status: 202, type: WorkloadDto })
  async stopWorkload(
    @Param('id') id: string,
    @Query('grace') grace: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<WorkloadView> {
    return this.workloads.stop(tenantOf(principal), id, grace, { principal, requestId });
  }

  @Get('quota-requests')
  @ApiOperation({ summary: 'Your quota requests, newest first; pending ones with the plan of approving them now' })
  @ApiResponse({ status: 200, type: QuotaRequestListDto })
  async listRequests(@CurrentPrincipal() principal: Principal): Promise<{ items: QuotaRequestView[] }> {
    return { items: await this.requests.listForTenant(tenantOf(principal)) };
  }

  @Post('quota-requests')
  @ApiOperation({ summary: 'Ask an admin for a different quota: a merge patch of your quota and a reason' })
  @ApiBody({ type: CreateQuotaRequestDto })
  @ApiResponse({ status: 201, type: QuotaRequestDto })
  async createRequest(@Body() body: unknown, @CurrentPrincipal() principal: Principal, @RequestId() requestId: string | undefined): Promise<QuotaRequestView> {
    return this.requests.create(tenantOf(principal), parseCreateQuotaRequest(body), { principal, requestId });
  }

  @Post('quota-requests/:id/withdraw')
  @HttpCode(200)
  @ApiOperation({ summary: 'Withdraw a pending request' })
  @ApiResponse({ status: 200, type: QuotaRequestDto })
  async withdraw(@Param('id') id: string, @CurrentPrincipal() principal: Principal, @RequestId() requestId: string | undefined): Promise<QuotaRequestView> {
    return this.requests.withdraw(tenantOf(principal), id, { principal, requestId });
  }
}
