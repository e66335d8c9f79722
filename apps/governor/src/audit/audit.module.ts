import { Module } from '@nestjs/common';
import { AuditRetention } from './audit.retention';
import { AuditService } from './audit.service';

@Module({
  providers: [AuditService, AuditRetention],
  exports: [AuditService],
})
export class AuditModule {}
