import { Module } from '@nestjs/common';
import { AdmissionModule } from '../admission/admission.module';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { TenantHostService } from './tenant-host.service';

@Module({ imports: [TenantsModule, AuditModule, AdmissionModule], providers: [TenantHostService], exports: [TenantHostService] })
export class HostApiModule {}
