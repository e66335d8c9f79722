import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type NodeView, NodesService } from './nodes.service';

@ApiTags('nodes')
@ApiBearerAuth()
@Controller('v1/nodes')
export class NodesController {
  constructor(private readonly nodes: NodesService) {}

  @Get()
  @ApiOperation({ summary: 'Hosts with an agent: kernel, cgroup mode, controllers available and missing, features, heartbeat' })
  async list(): Promise<{ items: NodeView[] }> {
    return { items: await this.nodes.list() };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One host' })
  async get(@Param('name') name: string): Promise<NodeView> {
    return this.nodes.get(name);
  }
}
