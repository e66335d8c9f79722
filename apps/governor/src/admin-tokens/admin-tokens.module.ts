import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CredentialRevocations } from '../auth/credential-revocations';
import { CredentialCache } from '../auth/credential.cache';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { AdminTokensService } from './admin-tokens.service';

@Module({
  imports: [AuditModule],
  providers: [
    AdminTokensService,
    { provide: CredentialCache, useFactory: (config: GovernorConfig) => new CredentialCache(config.authCacheTtlMs), inject: [GOVERNOR_CONFIG] },
    CredentialRevocations,
  ],
  exports: [AdminTokensService],
})
export class AdminTokensModule {}
