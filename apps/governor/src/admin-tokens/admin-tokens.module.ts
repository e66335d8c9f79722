import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AdminTokensService } from './admin-tokens.service';

@Module({
  imports: [AuditModule],
  providers: [AdminTokensService],
  exports: [AdminTokensService],
})
export class AdminTokensModule {}
