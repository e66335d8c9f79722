import { Module } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { GovernorMetrics } from '../metrics/governor.metrics';
import { NodesModule } from '../nodes/nodes.module';
import { FirewallLog, hostFirewallTable } from './firewall-report';
import { FirewallSync } from './firewall-sync';
import { ReconcilerRepository } from './reconciler.repository';
import { ReconcilerService } from './reconciler.service';
import { TenantIsolation } from './tenant-isolation';
import { TenantNetwork } from './tenant-network';
import { TenantReconciler } from './tenant-reconciler';
import { TenantStatusWriter } from './tenant-status.writer';
import { TenantTeardown } from './tenant-teardown';

@Module({
  imports: [NodesModule],
  providers: [
    ReconcilerService,
    ReconcilerRepository,
    TenantReconciler,
    TenantStatusWriter,
    TenantTeardown,
    TenantIsolation,
    TenantNetwork,
    {
      provide: FirewallSync,
      inject: [GOVERNOR_CONFIG, HostAccess, GovernorMetrics],
      useFactory: (config: GovernorConfig, host: HostAccess, metrics: GovernorMetrics) =>
        new FirewallSync(hostFirewallTable(config.firewallTable), new FirewallLog(host, metrics)),
    },
  ],
  exports: [ReconcilerService],
})
export class ReconcilerModule {}
