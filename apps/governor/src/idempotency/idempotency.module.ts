import { Global, Module } from '@nestjs/common';
import { IdempotencyService } from './idempotency.service';

/** Global: every feature with a create that takes Idempotency-Key uses the one service. */
@Global()
@Module({ providers: [IdempotencyService], exports: [IdempotencyService] })
export class IdempotencyModule {}
