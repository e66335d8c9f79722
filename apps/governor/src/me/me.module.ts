import { Module } from '@nestjs/common';
import { QuotaRequestsModule } from '../quota-requests/quota-requests.module';
import { TenantsModule } from '../tenants/tenants.module';
import { WorkloadsModule } from '../workloads/workloads.module';
import { MeService } from './me.service';
import { MyUsageModule } from './my-usage.module';

@Module({
  imports: [TenantsModule, MyUsageModule, WorkloadsModule, QuotaRequestsModule],
  providers: [MeService],
  exports: [MeService],
})
export class MeModule {}
