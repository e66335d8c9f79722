import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';
import type { NodeView } from '../nodes/nodes.service';
import { WorkloadDto } from '../workloads/dto/workload.dto';
import { ACTING_PRINCIPAL_HEADER } from '../workloads/workload-proxy';
import { parseGrace, parseLogQuery, parseStartWorkload, sendLog } from '../workloads/workload.request';
import type { WorkloadView } from '../workloads/workloads.service';
import { AgentApiService } from './agent-api.service';
import type { TenantUsage } from '../../../../libs/cgroup/src/usage';
import { parsePid } from '../host/tenant-host.controller';
import { type TenantPlan, TenantHostService } from '../host/tenant-host.service';
import type { RootfsOnNode } from '../host/tenant-host.router';
import { WorkloadLogRoute } from '../workloads/workload-log.decorator';
import { type MyUsage, MyUsageService } from '../me/my-usage.service';

/**
 * The internal agent API: what API replicas ask of the agent that owns a host. Every route needs the shared
 * GOVERNOR_AGENT_TOKEN; admin tokens and tenant keys do not reach it.
 */
@ApiTags('agent')
@ApiBearerAuth()
@Access('agent')
@Controller('agent/v1')
export class AgentApiController {
  constructor(
    private readonly agent: AgentApiService,
    private readonly host: TenantHostService,
    private readonly usageHere: MyUsageService,
  ) {}

  @Get('tenants/:name/usage')
  @ApiOperation({ summary: "Live usage of the tenant's cgroup on this node" })
  async usage(@Param('name') name: string): Promise<TenantUsage> {
    return (await this.host.usage(name)).usage;
  }

  @Get('tenants/:name/my-usage')
  @ApiOperation({ summary: "What GET /v1/me/usage shows of this node: the tenant's cgroup usage, link counters and sampled history" })
  async myUsage(@Param('name') name: string): Promise<MyUsage> {
    return this.usageHere.onThisNode(name);
  }

  @Post('tenants/:name/plan')
  @HttpCode(200)
  @ApiOperation({ summary: 'Dry run of a merge patch on this node: the files and values it would write, and warnings' })
  async plan(@Param('name') name: string, @Body() body: unknown): Promise<TenantPlan> {
    return this.host.plan(name, body);
  }

  @Post('tenants/:name/processes')
  @HttpCode(201)
  @ApiOperation({ summary: 'Attach a process of this node to the tenant, for the principal an API replica names' })
  @ApiHeader({
    name: ACTING_PRINCIPAL_HEADER,
    required: true,
    description: 'base64url of the JSON of the principal the API replica acts for; recorded in the audit log',
  })
  async attach(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers(ACTING_PRINCIPAL_HEADER) acting: string | undefined,
    @Headers('x-request-id') requestId: string | undefined,
  ): Promise<{ pid: number; cgroup: string }> {
    const principal = this.agent.actingPrincipal(acting);
    return this.host.attach(name, parsePid(body), { principal, requestId });
  }

  @Get('node')
  @ApiOperation({ summary: "This agent's node, as it registered it: kernel, cgroup mode, controllers, features, capacity, agent URL, heartbeat" })
  async node(): Promise<NodeView> {
    return this.agent.node();
  }

  @Post('node/rootfs')
  @HttpCode(200)
  @ApiOperation({ summary: "Whether a tenant's rootfs ({rootfs}) is a directory on this node; 400 naming the node when it is not" })
  rootfs(@Body() body: unknown): RootfsOnNode {
    return this.agent.rootfs(body);
  }

  @Post('tenants/:name/workloads')
  @ApiOperation({ summary: 'Start a workload of the tenant on this node, for the principal an API replica names' })
  @ApiHeader({
    name: ACTING_PRINCIPAL_HEADER,
    required: true,
    description: 'base64url of the JSON of the principal the API replica acts for; recorded in the audit log',
  })
  @ApiResponse({ status: 201, type: WorkloadDto })
  async start(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers(ACTING_PRINCIPAL_HEADER) acting: string | undefined,
    @Headers('x-request-id') requestId: string | undefined,
  ): Promise<WorkloadView> {
    const principal = this.agent.actingPrincipal(acting);
    return this.agent.start(name, parseStartWorkload(body), { principal, requestId });
  }

  @Delete('tenants/:name/workloads/:id')
  @HttpCode(202)
  @ApiOperation({ summary: 'Stop a workload of this node, for the principal an API replica names' })
  @ApiHeader({
    name: ACTING_PRINCIPAL_HEADER,
    required: true,
    description: 'base64url of the JSON of the principal the API replica acts for; recorded in the audit log',
  })
  @ApiQuery({ name: 'grace', required: false, description: 'time between SIGTERM and cgroup.kill, default 10s' })
  @ApiResponse({ status: 202, type: WorkloadDto })
  async stop(
    @Param('name') name: string,
    @Param('id') id: string,
    @Query('grace') grace: unknown,
    @Headers(ACTING_PRINCIPAL_HEADER) acting: string | undefined,
    @Headers('x-request-id') requestId: string | undefined,
  ): Promise<WorkloadView> {
    const principal = this.agent.actingPrincipal(acting);
    return this.agent.stop(name, id, parseGrace(grace), { principal, requestId });
  }

  @Get('tenants/:name/workloads/:id')
  @ApiOperation({ summary: 'One workload of this node, its state read from its monitor' })
  @ApiResponse({ status: 200, type: WorkloadDto })
  async workload(@Param('name') name: string, @Param('id') id: string): Promise<WorkloadView> {
    return this.agent.workload(name, id);
  }

  @Get('tenants/:name/workloads/:id/logs')
  @WorkloadLogRoute()
  @ApiOperation({ summary: "A workload's output, read from this node's run directory" })
  async logs(
    @Param('name') name: string,
    @Param('id') id: string,
    @Query('stream') stream: unknown,
    @Query('tail') tail: unknown,
    @Query('after') after: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return sendLog(res, await this.agent.logs(name, id, parseLogQuery(stream, tail, after)));
  }
}
