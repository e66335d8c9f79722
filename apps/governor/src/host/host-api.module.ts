import { Module } from '@nestjs/common';
import { AdmissionModule } from '../admission/admission.module';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { TenantHostService } from './tenant-host.service';
import { TenantHostRouter } from './tenant-host.router';
import { WorkloadsModule } from '../workloads/workloads.module';

@Module({
  imports: [TenantsModule, AuditModule, AdmissionModule, WorkloadsModule],
  providers: [TenantHostService, TenantHostRouter],
  exports: [TenantHostService, TenantHostRouter],
})
export class HostApiModule {}
