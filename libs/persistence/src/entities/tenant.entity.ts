import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Quota } from '../../../domain/src/quota.types';
import { bigintAsNumber } from './bigint.transformer';

/**
 * The desired state of one tenant. Rows are never deleted: a deleted tenant keeps its row as a tombstone
 * (deleted_at set), so that the ledger and the audit, keyed by tenant id, outlive it and its name can be
 * taken again.
 */
@Entity({ name: 'tenants' })
@Index('tenants_name_live_key', ['name'], { unique: true, where: 'deleted_at IS NULL' })
export class TenantEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'tenants_pkey' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  quota!: Quota;

  /** a directory on each node used as the tenant's root instead of the host's; set at create only */
  @Column({ type: 'text', nullable: true })
  rootfs!: string | null;

  /** the hostname inside (its UTS namespace); null: the tenant's name. Set at create only */
  @Column({ type: 'text', nullable: true })
  hostname!: string | null;

  /** nodes the tenant lives on; empty means every node */
  @Column({ type: 'text', array: true, default: () => "'{}'::text[]" })
  nodes!: string[];

  @Column({ type: 'boolean', default: false })
  suspended!: boolean;

  /** bumped by every change to what agents enforce (quota, nodes, suspended, deletion) */
  @Column({ type: 'bigint', default: 1, transformer: bigintAsNumber })
  generation!: number;

  /** bumped by every change at all; the ETag */
  @Column({ name: 'resource_version', type: 'bigint', default: 1, transformer: bigintAsNumber })
  resourceVersion!: number;

  /** a memory.max decrease in this generation may go below usage (PATCH ?force=true) */
  @Column({ name: 'force_generation', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  forceGeneration!: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  /** set by DELETE; the tenant is Terminating until every node has torn it down */
  @Column({ name: 'deletion_requested_at', type: 'timestamptz', nullable: true })
  deletionRequestedAt!: Date | null;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;
}
