import { Module } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { GovernorMetrics } from '../metrics/governor.metrics';
import { DATABASE_URL } from '../database/database.module';
import { NodesModule } from '../nodes/nodes.module';
import { CHANGES_CHANNEL } from '../tenants/tenants.service';
import { ChangeListener } from './change-listener';
import { FirewallLog, hostFirewallTable } from './firewall-report';
import { FirewallSync } from './firewall-sync';
import { QuietTenants } from './quiet-tenants';
import { ReconcilerRepository } from './reconciler.repository';
import { systemClock } from './reconcile-queue';
import { CHANGE_FEED, type ChangeFeed, RECONCILER_CLOCK, ReconcilerService } from './reconciler.service';
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
    QuietTenants,
    { provide: RECONCILER_CLOCK, useValue: systemClock },
    {
      provide: CHANGE_FEED,
      inject: [DATABASE_URL],
      useFactory: (databaseUrl: string): ChangeFeed => ({
        listen(handlers) {
          const listener = new ChangeListener(databaseUrl, CHANGES_CHANNEL, handlers);
          listener.start();
          return listener;
        },
      }),
    },
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
