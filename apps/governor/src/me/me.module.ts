import { Module } from '@nestjs/common';
import { HostApiModule } from '../host/host-api.module';
import { QuotaRequestsModule } from '../quota-requests/quota-requests.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsageHistoryModule } from '../usage-history/usage-history.module';
import { WorkloadsModule } from '../workloads/workloads.module';
import { MeService } from './me.service';

@Module({
  imports: [TenantsModule, HostApiModule, WorkloadsModule, QuotaRequestsModule, UsageHistoryModule],
  providers: [MeService],
  exports: [MeService],
})
export class MeModule {}
