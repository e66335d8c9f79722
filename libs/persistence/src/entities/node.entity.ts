import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A host with an agent: what its kernel offers, and when it last said it was alive. */
@Entity({ name: 'nodes' })
export class NodeEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'nodes_pkey' })
  name!: string;

  @Column({ type: 'text' })
  role!: string;

  @Column({ type: 'text' })
  kernel!: string;

  /** unified or hybrid */
  @Column({ name: 'cgroup_mode', type: 'text' })
  cgroupMode!: string;

  @Column({ name: 'cgroup_mount', type: 'text' })
  cgroupMount!: string;

  @Column({ name: 'cgroup_root', type: 'text' })
  cgroupRoot!: string;

  @Column({ name: 'controllers_available', type: 'text', array: true })
  controllersAvailable!: string[];

  @Column({ name: 'controllers_missing', type: 'text', array: true })
  controllersMissing!: string[];

  @Column({ type: 'jsonb' })
  features!: Record<string, boolean>;

  @CreateDateColumn({ name: 'registered_at', type: 'timestamptz' })
  registeredAt!: Date;

  @Column({ name: 'heartbeat_at', type: 'timestamptz' })
  heartbeatAt!: Date;
}
