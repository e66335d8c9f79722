import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AdminTokensModule } from './admin-tokens/admin-tokens.module';
import { AuditModule } from './audit/audit.module';
import { AuthGuard } from './auth/auth.guard';
import { JsonBodyMiddleware } from './common/json-body.middleware';
import { PathMiddleware } from './common/path.middleware';
import { HttpLogMiddleware } from './logging/http-log.middleware';
import { LoggingModule } from './logging/logging.module';
import { ProblemFilter } from './common/problem.filter';
import { GOVERNOR_CONFIG, type GovernorConfig } from './config/governor.config';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { TenantsModule } from './tenants/tenants.module';
import { HostModule } from './host/host.module';
import { MetricsModule } from './metrics/metrics.module';
import { NodesModule } from './nodes/nodes.module';
import { TenantKeysModule } from './tenant-keys/tenant-keys.module';
import { TenantEventsModule } from './tenant-events/tenant-events.module';
import { AuthFailures } from './auth/auth-failures';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { LeasesModule } from './leases/leases.module';
import { QuarantineModule } from './quarantine/quarantine.module';
import { roleModules } from './roles/role.modules';

@Module({})
export class AppModule implements NestModule {
  static forRoot(config: GovernorConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        { module: class ConfigModule {}, global: true, providers: [{ provide: GOVERNOR_CONFIG, useValue: config }], exports: [GOVERNOR_CONFIG] },
        LoggingModule.forRoot(config),
        DatabaseModule.forUrl(databaseUrl),
        IdempotencyModule,
        LeasesModule,
        QuarantineModule,
        // What every role needs: the auth guard's token services, fleet-wide jobs (audit retention, quarantine release), metrics, nodes.
        AuditModule,
        AdminTokensModule,
        TenantKeysModule,
        MetricsModule,
        HostModule,
        NodesModule,
        TenantsModule,
        TenantEventsModule,
        ...roleModules(config),
      ],
      controllers: [HealthController],
      providers: [HealthService, AuthFailures, { provide: APP_GUARD, useClass: AuthGuard }, { provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpLogMiddleware, PathMiddleware, JsonBodyMiddleware).forRoutes('*');
  }
}
