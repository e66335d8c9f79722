import { Module } from '@nestjs/common';
import { HostApiModule } from '../host/host-api.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsageHistoryModule } from '../usage-history/usage-history.module';
import { MyUsageService } from './my-usage.service';

/** A tenant's usage on this host, as /v1/me/usage shows it: used by the REST API (role all) and the agent API. */
@Module({ imports: [TenantsModule, HostApiModule, UsageHistoryModule], providers: [MyUsageService], exports: [MyUsageService] })
export class MyUsageModule {}
