import { Column, CreateDateColumn, Entity, Exclusion, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { TenantEntity } from './tenant.entity';

/**
 * A tenant's host uid/gid range and its link's address block (see ../allocation.ts). A released row stays
 * as history, so only live rows (released_at IS NULL) must be disjoint.
 *
 * The EXCLUDE constraints are declared here, not only in the migration: TypeORM's schema diff drops every
 * exclusion constraint of a table that its entity does not name, so without these a later
 * `migration:generate` would quietly emit DROP CONSTRAINT for both. The diff compares them by name only.
 */
@Entity({ name: 'tenant_allocations' })
@Exclusion('tenant_allocations_uid_range_excl', 'USING gist ("uid_range" WITH &&) WHERE ("released_at" IS NULL)')
@Exclusion('tenant_allocations_net_block_excl', 'USING gist ("net_block" inet_ops WITH &&) WHERE ("released_at" IS NULL)')
export class TenantAllocationEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid', primaryKeyConstraintName: 'tenant_allocations_pkey' })
  tenantId!: string;

  @OneToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'tenant_allocations_tenant_fk' })
  tenant?: TenantEntity;

  /** int8range text, "[base,base+65536)": uids 0..65535 inside the tenant's user namespace map here; gids use the same numbers */
  @Column({ name: 'uid_range', type: 'int8range' })
  uidRange!: string;

  /** e.g. 10.200.0.4/31: the host side takes the first address, the tenant side the second (a /30: the middle two) */
  @Column({ name: 'net_block', type: 'cidr' })
  netBlock!: string;

  /**
   * set when the tenant is deleted (tombstoned): its blocks are held in quarantine, still live for the EXCLUDE
   * constraints, until every node that hosted it has confirmed its teardown; then released_at is set
   */
  @Column({ name: 'quarantined_at', type: 'timestamptz', nullable: true })
  quarantinedAt!: Date | null;

  /** set once teardown is confirmed everywhere: the ranges are free again, the row stays */
  @Column({ name: 'released_at', type: 'timestamptz', nullable: true })
  releasedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
