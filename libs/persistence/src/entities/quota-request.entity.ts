import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TenantEntity } from './tenant.entity';

/**
 * A tenant's request for a different quota: a merge patch of its quota and a reason, decided by an admin.
 * Approval applies the patch through the normal path (ledger, generation, reconcile).
 */
@Entity({ name: 'quota_requests' })
@Index('quota_requests_state_idx', ['state', 'createdAt'])
@Index('quota_requests_tenant_idx', ['tenantId', 'createdAt'])
export class QuotaRequestEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'quota_requests_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'quota_requests_tenant_fk' })
  tenant?: TenantEntity;

  /** the merge patch of the quota, as the tenant sent it (validated) */
  @Column({ type: 'jsonb' })
  patch!: Record<string, unknown>;

  @Column({ type: 'text' })
  reason!: string;

  /** pending, approved, rejected, withdrawn */
  @Column({ type: 'text' })
  state!: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt!: Date | null;

  @Column({ name: 'decided_by', type: 'text', nullable: true })
  decidedBy!: string | null;

  @Column({ name: 'decision_reason', type: 'text', nullable: true })
  decisionReason!: string | null;
}
