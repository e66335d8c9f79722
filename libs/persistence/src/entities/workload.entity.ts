import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Quota } from '../../../domain/src/quota.types';
import { TenantEntity } from './tenant.entity';

/** A process started in a tenant, supervised by a monitor on one node; its row outlives the process. */
@Entity({ name: 'workloads' })
@Index('workloads_tenant_created_idx', ['tenantId', 'createdAt'])
@Index('workloads_node_state_idx', ['node', 'state'])
export class WorkloadEntity {
  /** 12 characters of [a-z0-9]: also the name of its cgroup leaf and state directory */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'workloads_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'workloads_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  node!: string;

  @Column({ type: 'text', array: true })
  command!: string[];

  /** names only: values can be secrets and are kept in the monitor's state file, not here */
  @Column({ name: 'env_names', type: 'text', array: true, default: () => "'{}'::text[]" })
  envNames!: string[];

  @Column({ type: 'text' })
  cwd!: string;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  quota!: Quota;

  /** starting, running, exited, killed, oom-killed, failed, lost */
  @Column({ type: 'text' })
  state!: string;

  @Column({ type: 'integer', nullable: true })
  pid!: number | null;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ type: 'text', nullable: true })
  signal!: string | null;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /**
   * When a stop's grace ends: a workload still running then is killed with cgroup.kill. Kept here rather than in a
   * timer, so that a governor started after this one stopped still honours it.
   */
  @Column({ name: 'kill_at', type: 'timestamptz', nullable: true })
  killAt!: Date | null;
}
