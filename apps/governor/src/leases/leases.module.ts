import { Global, Module } from '@nestjs/common';
import { FleetLeases } from './fleet-leases.service';
import { LeaseRepository } from './lease.repository';

/** Global: every fleet-wide job (retention, quarantine release) runs under its lease. */
@Global()
@Module({ providers: [FleetLeases, LeaseRepository], exports: [FleetLeases] })
export class LeasesModule {}
