import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AdminTokensBootstrap } from './admin-tokens.bootstrap';
import { AdminTokensController } from './admin-tokens.controller';
import { AdminTokensService } from './admin-tokens.service';

@Module({
  imports: [AuditModule],
  controllers: [AdminTokensController],
  providers: [AdminTokensService, AdminTokensBootstrap],
  exports: [AdminTokensService],
})
export class AdminTokensModule {}
