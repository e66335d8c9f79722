import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

/**
 * A fleet-wide job's lease (retention, ...). Whoever holds the job's advisory lock on a live session raises
 * `token` when it takes the lease; every action of the job checks, in its own transaction, that the token is
 * still the one it took, so that a holder deposed meanwhile (its session ended) cannot act any more.
 */
@Entity({ name: 'fleet_leases' })
export class FleetLeaseEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'fleet_leases_pkey' })
  name!: string;

  /** the fencing token: raised by one at every takeover, never reused */
  @Column({ type: 'bigint', default: 0, transformer: bigintAsNumber })
  token!: number;

  /** node name, pid and a random suffix of the holding process; null before anyone took it */
  @Column({ type: 'text', nullable: true })
  holder!: string | null;

  @Column({ name: 'acquired_at', type: 'timestamptz', nullable: true })
  acquiredAt!: Date | null;
}
