import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { WorkloadsController } from './workloads.controller';
import { WorkloadsService } from './workloads.service';

@Module({ imports: [TenantsModule, AuditModule], controllers: [WorkloadsController], providers: [WorkloadsService], exports: [WorkloadsService] })
export class WorkloadsModule {}
