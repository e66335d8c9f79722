import { Global, Module } from '@nestjs/common';
import { GovernorMetrics } from './governor.metrics';
import { MetricsController } from './metrics.controller';
import { TenantCatalog } from './tenant-catalog';

@Global()
@Module({ controllers: [MetricsController], providers: [GovernorMetrics, TenantCatalog], exports: [GovernorMetrics, TenantCatalog] })
export class MetricsModule {}
