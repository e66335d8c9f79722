import { Global, Logger, Module } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { GovernorMetrics } from './governor.metrics';
import { MetricsController } from './metrics.controller';
import { MetricsExporter } from './metrics.exporter';
import { MetricsTokenGuard } from './metrics-token.guard';
import { MetricsTokenSource } from './metrics-token.source';
import { NodeHeartbeats } from './node-heartbeats';
import { TenantCatalog } from './tenant-catalog';

/** At most one warning a minute per collector about unreadable files: a scrape every 15 s would flood the log. */
const READ_ERROR_LOG_MS = 60_000;

/** The exporter over this process's registry, catalog, heartbeats and host, logging what goes wrong. */
function createExporter(
  metrics: GovernorMetrics,
  catalog: TenantCatalog,
  heartbeats: NodeHeartbeats,
  host: HostAccess,
  config: GovernorConfig,
): MetricsExporter {
  const logger = new Logger('metrics');
  const readErrorLoggedAt = new Map<string, number>();
  return new MetricsExporter({
    registry: metrics.registry,
    catalog,
    heartbeats,
    host: () => host.maybeCgroups(),
    node: config.nodeName,
    driftCorrections: metrics.driftCorrections,
    onCollectorChange: (collector, err) => {
      if (err === undefined) logger.log(`collector ${collector} works again`);
      else logger.warn({ err }, `collector ${collector} failed; its series are missing until it works again`);
    },
    onReadError: (collector, path, err) => {
      const now = Date.now();
      if (now - (readErrorLoggedAt.get(collector) ?? 0) < READ_ERROR_LOG_MS) return;
      readErrorLoggedAt.set(collector, now);
      logger.warn(
        { err, file: path },
        `collector ${collector} cannot read ${path} below the cgroup root; its series are missing (governor_collector_errors_total)`,
      );
    },
  });
}

@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    GovernorMetrics,
    TenantCatalog,
    NodeHeartbeats,
    MetricsTokenSource,
    MetricsTokenGuard,
    { provide: MetricsExporter, inject: [GovernorMetrics, TenantCatalog, NodeHeartbeats, HostAccess, GOVERNOR_CONFIG], useFactory: createExporter },
  ],
  exports: [GovernorMetrics, TenantCatalog, NodeHeartbeats],
})
export class MetricsModule {}
