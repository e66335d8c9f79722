import { Global, Module } from '@nestjs/common';
import { GovernorMetrics } from './governor.metrics';
import { MetricsController } from './metrics.controller';

@Global()
@Module({ controllers: [MetricsController], providers: [GovernorMetrics], exports: [GovernorMetrics] })
export class MetricsModule {}
