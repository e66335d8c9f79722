import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { WorkloadProxy } from './workload-proxy';
import { WorkloadRouter } from './workload-router';
import { WorkloadsService } from './workloads.service';
import { ForkWatch } from './fork-watch';
import { RunDirWatch } from './run-dir-watch';

@Module({
  imports: [TenantsModule, AuditModule],
  providers: [WorkloadsService, WorkloadProxy, WorkloadRouter, ForkWatch, RunDirWatch],
  exports: [WorkloadsService, WorkloadRouter],
})
export class WorkloadsModule {}
