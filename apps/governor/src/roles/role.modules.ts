import type { DynamicModule, Type } from '@nestjs/common';
import { AgentApiModule } from '../agent-api/agent-api.module';
import type { GovernorConfig } from '../config/governor.config';
import { HostAgentModule } from './host-agent.module';
import { RestApiModule } from './rest-api.module';

/**
 * The modules a role loads besides the common ones (database, auth, metrics, health, leases):
 * - api: the REST API, the portal and the fleet view; nothing that touches the host;
 * - agent: the reconciler, the workload supervisor and the agent API; no REST API;
 * - all: both, the agent API only when GOVERNOR_AGENT_TOKEN is set.
 * A route of a module a role does not load is absent from its OpenAPI document and answers 404.
 */
export function roleModules(config: GovernorConfig): Array<Type | DynamicModule> {
  const servesApi = config.role !== 'agent';
  const actsOnHost = config.role !== 'api';
  const servesAgentApi = actsOnHost && config.agentToken !== undefined;
  return [...(servesApi ? [RestApiModule] : []), ...(actsOnHost ? [HostAgentModule] : []), ...(servesAgentApi ? [AgentApiModule] : [])];
}
