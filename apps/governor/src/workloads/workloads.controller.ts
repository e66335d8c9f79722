import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiResponse, ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequestId } from '../auth/access.decorator';
import type { Response } from 'express';
import type { Principal } from '../auth/principal';
import { IDEMPOTENCY_KEY_HEADER } from '../idempotency/idempotency.request';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { QuotaDto } from '../tenants/dto/quota.dto';
import { WorkloadDto, WorkloadListDto } from './dto/workload.dto';
import { WorkloadRouter } from './workload-router';
import { sendLog } from './workload.request';
import type { WorkloadView } from './workloads.service';
import { WorkloadLogRoute } from './workload-log.decorator';

class StartWorkloadDto {
  @ApiProperty({ example: ['/bin/sh', '-c', 'echo hello; sleep 30'], description: 'an absolute path (no PATH search), then its arguments' })
  command!: string[];
  @ApiPropertyOptional({ example: { GREETING: 'hi' }, description: 'the whole environment of the workload; nothing is inherited' })
  env?: Record<string, string>;
  @ApiPropertyOptional({ example: '/', description: 'working directory; default /' })
  cwd?: string;
  @ApiPropertyOptional({ type: QuotaDto, description: 'limits of this workload inside the tenant cap (network limits are per tenant)' })
  quota?: QuotaDto;
  @ApiPropertyOptional({
    example: 'node-a',
    description:
      "the node to run it on: in role api one of the tenant's nodes, Ready; without it the API picks the tenant's Ready node with the most memory not yet guaranteed (its MemTotal minus the memory.min of the workloads starting or running there), the name breaking a tie. In role all only this governor's own node.",
  })
  node?: string;
}

@ApiTags('workloads')
@ApiBearerAuth()
@Controller('v1/tenants/:name/workloads')
export class WorkloadsController {
  constructor(
    private readonly workloads: WorkloadRouter,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Start a process in the tenant',
    description:
      "The process starts in the tenant's cgroup leaf and its network and user namespaces before its first instruction, as uid 0 inside (the tenant's base uid outside), under a monitor that outlives the governor. A command that cannot start gives state failed with a message. In role api the request goes to the agent of the node it runs on (`node` in the answer); an agent that cannot be reached gives 503 naming the node, and an agent's 4xx is answered as it is.",
  })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiResponse({ status: 201, type: WorkloadDto })
  async start(
    @Param('name') name: string,
    @Body() body: StartWorkloadDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<WorkloadView> {
    const request = { header: idempotencyKey, principal, operation: 'workload.start', target: name, body, status: 201 };
    return this.idempotency.run(request, res, () => this.workloads.start(name, body, { principal, requestId }));
  }

  @Get()
  @ApiOperation({ summary: "The tenant's workloads, newest first" })
  @ApiResponse({ status: 200, type: WorkloadListDto })
  async list(@Param('name') name: string): Promise<{ items: WorkloadView[] }> {
    return { items: await this.workloads.list(name) };
  }

  @Get(':id')
  @ApiOperation({
    summary:
      'One workload: state (starting, running, exited, killed, oom-killed, failed, lost; unknown while its node is NotReady), exit code, signal, message, times',
  })
  @ApiResponse({ status: 200, type: WorkloadDto })
  async get(@Param('name') name: string, @Param('id') id: string): Promise<WorkloadView> {
    return this.workloads.get(name, id);
  }

  @Get(':id/logs')
  @WorkloadLogRoute()
  @ApiOperation({ summary: 'The last lines of its output (logs are rotated by size; at most 1 MiB is read), or what followed a cursor' })
  async logs(
    @Param('name') name: string,
    @Param('id') id: string,
    @Query('stream') stream: unknown,
    @Query('tail') tail: unknown,
    @Query('after') after: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return sendLog(res, await this.workloads.logs(name, id, stream, tail, after));
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiQuery({ name: 'grace', required: false, description: 'time between SIGTERM and cgroup.kill, default 10s' })
  @ApiOperation({
    summary: 'Stop it: SIGTERM, then cgroup.kill after the grace period',
    description:
      "SIGTERM goes through the workload's monitor, which holds a pidfd of it. The end of the grace period is kept in the database, so a governor restarted meanwhile still kills the workload then.",
  })
  @ApiResponse({ status: 202, type: WorkloadDto })
  @ApiResponse({ status: 409, description: 'role all: the workload runs on another node; only the governor of that node can stop it' })
  @ApiResponse({ status: 503, description: "role api: the owning node's agent cannot be reached (the problem names the node)" })
  async stop(
    @Param('name') name: string,
    @Param('id') id: string,
    @Query('grace') grace: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<WorkloadView> {
    return this.workloads.stop(name, id, grace, { principal, requestId });
  }
}
