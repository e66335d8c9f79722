import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { TenantKeysService } from './tenant-keys.service';

@Module({ imports: [TenantsModule, AuditModule], providers: [TenantKeysService], exports: [TenantKeysService] })
export class TenantKeysModule {}
