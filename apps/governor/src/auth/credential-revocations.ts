import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { DATABASE_URL } from '../database/database.module';
import { ChangeListener } from '../reconciler/change-listener';
import { CREDENTIALS_CHANNEL, CredentialCache } from './credential.cache';

/**
 * LISTENs for revocations made on any replica and empties this replica's CredentialCache on each, and on
 * every (re)connect, since a revocation may have been announced while the connection was down.
 */
@Injectable()
export class CredentialRevocations implements OnModuleInit, OnModuleDestroy {
  private listener: ChangeListener | undefined;

  constructor(
    private readonly verified: CredentialCache,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.authCacheTtlMs === 0) return;
    this.listener = new ChangeListener(this.databaseUrl, CREDENTIALS_CHANNEL, {
      changed: () => this.verified.forgetAll(),
      connected: () => this.verified.forgetAll(),
    });
    this.listener.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener?.stop();
  }
}
