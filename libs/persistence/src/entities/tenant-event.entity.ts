import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TenantEntity } from './tenant.entity';

/**
 * Something a tenant should know happened to it on a node: an OOM kill, a throttling episode, a workload
 * that ended badly. Quota changes are not repeated here: the ledger has them.
 */
@Entity({ name: 'tenant_events' })
@Index('tenant_events_tenant_at_idx', ['tenantId', 'at'])
export class TenantEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', primaryKeyConstraintName: 'tenant_events_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'tenant_events_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'text' })
  node!: string;

  /** oom-kill, throttling, workload, init (the tenant init died and was started again) */
  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  detail!: Record<string, unknown>;
}
