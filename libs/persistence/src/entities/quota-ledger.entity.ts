import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Quota } from '../../../domain/src/quota.types';
import { bigintAsNumber } from './bigint.transformer';
import { TenantEntity } from './tenant.entity';

/** Append-only: a trigger refuses UPDATE, and DELETE outside the retention job. */
@Entity({ name: 'quota_ledger' })
@Index('quota_ledger_tenant_at_idx', ['tenantId', 'at'])
export class QuotaLedgerEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'quota_ledger_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'quota_ledger_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ name: 'tenant_name', type: 'text' })
  tenantName!: string;

  /** the named admin token (or tenant key) that made the change */
  @Column({ type: 'text' })
  actor!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  /** null before the tenant existed */
  @Column({ type: 'jsonb', nullable: true })
  before!: Quota | null;

  /** null once the tenant is deleted */
  @Column({ type: 'jsonb', nullable: true })
  after!: Quota | null;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  generation!: number;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;
}
