import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRetention } from './audit.retention';
import { AuditService } from './audit.service';

@Module({
  controllers: [AuditController],
  providers: [AuditService, AuditRetention],
  exports: [AuditService],
})
export class AuditModule {}
