import { Module } from '@nestjs/common';
import { AdmissionModule } from '../admission/admission.module';
import { AuditModule } from '../audit/audit.module';
import { NodesModule } from '../nodes/nodes.module';
import { TenantsRepository } from './tenants.repository';
import { TenantsService } from './tenants.service';

@Module({
  imports: [AuditModule, NodesModule, AdmissionModule],
  providers: [TenantsService, TenantsRepository],
  exports: [TenantsService],
})
export class TenantsModule {}
