import { Global, Module } from '@nestjs/common';
import { QuarantineRelease } from './quarantine.release';
import { QuarantineRepository } from './quarantine.repository';

/** Global: every role runs the fleet-wide quarantine release, and tenant deletion and the reconciler kick it. */
@Global()
@Module({ providers: [QuarantineRelease, QuarantineRepository], exports: [QuarantineRelease] })
export class QuarantineModule {}
