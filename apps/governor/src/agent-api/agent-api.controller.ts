import { Controller, Get, Header, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';
import type { NodeView } from '../nodes/nodes.service';
import { WorkloadDto } from '../workloads/dto/workload.dto';
import { LOG_AFTER_DESCRIPTION, parseLogQuery, sendLog } from '../workloads/workload.request';
import type { WorkloadView } from '../workloads/workloads.service';
import { AgentApiService } from './agent-api.service';

/**
 * The internal agent API: what API replicas ask of the agent that owns a host. Every route needs the shared
 * GOVERNOR_AGENT_TOKEN; admin tokens and tenant keys do not reach it.
 */
@ApiTags('agent')
@ApiBearerAuth()
@Access('agent')
@Controller('agent/v1')
export class AgentApiController {
  constructor(private readonly agent: AgentApiService) {}

  @Get('node')
  @ApiOperation({ summary: "This agent's node, as it registered it: kernel, cgroup mode, controllers, features, capacity, agent URL, heartbeat" })
  async node(): Promise<NodeView> {
    return this.agent.node();
  }

  @Get('tenants/:name/workloads/:id')
  @ApiOperation({ summary: 'One workload of this node, its state read from its monitor' })
  @ApiResponse({ status: 200, type: WorkloadDto })
  async workload(@Param('name') name: string, @Param('id') id: string): Promise<WorkloadView> {
    return this.agent.workload(name, id);
  }

  @Get('tenants/:name/workloads/:id/logs')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiQuery({ name: 'stream', required: false, enum: ['stdout', 'stderr', 'both'] })
  @ApiQuery({ name: 'tail', required: false, description: 'lines, 1 to 10000, default 100' })
  @ApiQuery({ name: 'after', required: false, description: LOG_AFTER_DESCRIPTION })
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
