import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { HostApiModule } from '../host/host-api.module';
import { TenantsModule } from '../tenants/tenants.module';
import { QuotaRequestsService } from './quota-requests.service';

@Module({
  imports: [TenantsModule, AuditModule, HostApiModule],
  providers: [QuotaRequestsService],
  exports: [QuotaRequestsService],
})
export class QuotaRequestsModule {}
