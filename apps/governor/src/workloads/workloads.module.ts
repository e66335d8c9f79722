import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { WorkloadsService } from './workloads.service';
import { ForkWatch } from './fork-watch';
import { RunDirWatch } from './run-dir-watch';

@Module({ imports: [TenantsModule, AuditModule], providers: [WorkloadsService, ForkWatch, RunDirWatch], exports: [WorkloadsService] })
export class WorkloadsModule {}
