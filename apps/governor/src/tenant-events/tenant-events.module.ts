import { Global, Module } from '@nestjs/common';
import { TenantEventsService } from './tenant-events.service';

/** Global: the workload supervisor and the usage sampler record events; the tenant API reads them. */
@Global()
@Module({ providers: [TenantEventsService], exports: [TenantEventsService] })
export class TenantEventsModule {}
