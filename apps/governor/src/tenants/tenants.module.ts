import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NodesModule } from '../nodes/nodes.module';
import { TenantsService } from './tenants.service';

@Module({
  imports: [AuditModule, NodesModule],
  providers: [TenantsService],
  exports: [TenantsService],
})
export class TenantsModule {}
