import { Module } from '@nestjs/common';
import { HostApiModule } from '../host/host-api.module';
import { MyUsageModule } from '../me/my-usage.module';
import { NodesModule } from '../nodes/nodes.module';
import { WorkloadsModule } from '../workloads/workloads.module';
import { AgentApiController } from './agent-api.controller';
import { AgentApiService } from './agent-api.service';

/** The internal agent API, served by roles agent and all (the latter when GOVERNOR_AGENT_TOKEN is set). */
@Module({ imports: [NodesModule, WorkloadsModule, HostApiModule, MyUsageModule], controllers: [AgentApiController], providers: [AgentApiService] })
export class AgentApiModule {}
