import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { ForkWatch } from './fork-watch';
import { RunDirWatch } from './run-dir-watch';
import { WorkloadProxy } from './workload-proxy';
import { WorkloadRouter } from './workload-router';
import { WorkloadExpiry } from './workload.expiry';
import { WorkloadHost } from './workload.host';
import { WorkloadSupervisor } from './workload.supervisor';
import { WorkloadsRepository } from './workloads.repository';
import { WorkloadsService } from './workloads.service';

@Module({
  imports: [TenantsModule, AuditModule],
  providers: [WorkloadsService, WorkloadSupervisor, WorkloadExpiry, WorkloadsRepository, WorkloadHost, WorkloadProxy, WorkloadRouter, ForkWatch, RunDirWatch],
  exports: [WorkloadsService, WorkloadRouter, WorkloadProxy],
})
export class WorkloadsModule {}
