import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { TenantKeysController } from './tenant-keys.controller';
import { TenantKeysService } from './tenant-keys.service';

@Module({ imports: [TenantsModule, AuditModule], controllers: [TenantKeysController], providers: [TenantKeysService], exports: [TenantKeysService] })
export class TenantKeysModule {}
