import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Condition } from '../../../cgroup/src/condition';
import { bigintAsNumber } from './bigint.transformer';
import { TenantEntity } from './tenant.entity';

export interface TenantIsolationStatus {
  init: {
    pid: number | null;
    /** running, or dead/absent when the agent could not start it */
    state: string;
    /** how many times this node's agent found it dead and started it again */
    restarts: number;
    restartedAt: string | null;
  };
  /** kind (pid, mnt, uts, ipc, cgroup, net, user) and nsfs inode of each of the tenant's namespaces */
  namespaces: Array<{ kind: string; inode: number }>;
}

/** What one node's agent last made of one tenant. */
@Entity({ name: 'tenant_statuses' })
export class TenantStatusEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid', primaryKeyConstraintName: 'tenant_statuses_pkey' })
  tenantId!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'tenant_statuses_pkey' })
  node!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'tenant_statuses_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ name: 'observed_generation', type: 'bigint', default: 0, transformer: bigintAsNumber })
  observedGeneration!: number;

  /** Pending, Ready, Degraded, Error, Suspended, Deleted */
  @Column({ type: 'text' })
  phase!: string;

  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  conditions!: Condition[];

  @Column({ name: 'cgroup_path', type: 'text', nullable: true })
  cgroupPath!: string | null;

  /** The tenant's init and namespaces on this node, as the agent last saw them; null before it made them. */
  @Column({ type: 'jsonb', nullable: true })
  isolation!: TenantIsolationStatus | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
