import { Module } from '@nestjs/common';
import { AdminTokensBootstrap } from '../admin-tokens/admin-tokens.bootstrap';
import { AdminTokensController } from '../admin-tokens/admin-tokens.controller';
import { AdminTokensModule } from '../admin-tokens/admin-tokens.module';
import { AuditController } from '../audit/audit.controller';
import { AuditModule } from '../audit/audit.module';
import { HostApiModule } from '../host/host-api.module';
import { TenantHostController } from '../host/tenant-host.controller';
import { MeController } from '../me/me.controller';
import { MeModule } from '../me/me.module';
import { NodesController } from '../nodes/nodes.controller';
import { NodesModule } from '../nodes/nodes.module';
import { PortalModule } from '../portal/portal.module';
import { QuotaRequestsController } from '../quota-requests/quota-requests.controller';
import { QuotaRequestsModule } from '../quota-requests/quota-requests.module';
import { TenantKeysController } from '../tenant-keys/tenant-keys.controller';
import { TenantKeysModule } from '../tenant-keys/tenant-keys.module';
import { TenantsController } from '../tenants/tenants.controller';
import { TenantReadFastPath } from '../tenants/tenant-read.fast-path';
import { TenantsModule } from '../tenants/tenants.module';
import { WorkloadsController } from '../workloads/workloads.controller';
import { WorkloadsModule } from '../workloads/workloads.module';

/**
 * The REST API, the portal and the fleet view (/v1/nodes): what roles api and all serve. The feature modules
 * hold services only, so that role agent can use them without serving their routes. The host routes (usage,
 * plan, processes, workloads) are here too: in role all they act on this host; in role api they go to the agents
 * of the tenant's nodes (WorkloadRouter, TenantHostRouter).
 */
@Module({
  imports: [
    AdminTokensModule,
    AuditModule,
    NodesModule,
    TenantsModule,
    HostApiModule,
    WorkloadsModule,
    TenantKeysModule,
    QuotaRequestsModule,
    MeModule,
    PortalModule,
  ],
  controllers: [
    TenantsController,
    TenantHostController,
    WorkloadsController,
    TenantKeysController,
    QuotaRequestsController,
    MeController,
    AdminTokensController,
    AuditController,
    NodesController,
  ],
  // Whoever serves the admin API makes sure there is a root admin token; an agent never mints one.
  providers: [AdminTokensBootstrap, TenantReadFastPath],
})
export class RestApiModule {}
