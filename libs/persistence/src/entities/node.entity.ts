import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

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

  /** CPUs the agent's host has online, and its memory in bytes (MemTotal): what placement may count on */
  @Column({ name: 'capacity_cpus', type: 'integer', default: 0 })
  capacityCpus!: number;

  @Column({ name: 'capacity_memory_bytes', type: 'bigint', default: 0, transformer: bigintAsNumber })
  capacityMemoryBytes!: number;

  /** the CPUs online as a canonical list ("0-3"); null when the agent did not report it */
  @Column({ name: 'cpu_list', type: 'text', nullable: true })
  cpuList!: string | null;

  /** the system reservation the agent declares (GOVERNOR_SYSTEM_RESERVED): taken off the capacity by admission */
  @Column({ name: 'reserved_cpus', type: 'integer', default: 0 })
  reservedCpus!: number;

  @Column({ name: 'reserved_memory_bytes', type: 'bigint', default: 0, transformer: bigintAsNumber })
  reservedMemoryBytes!: number;

  /** [start, count] entries of the node's /etc/subuid and /etc/subgid: no tenant's uid range may overlap one, on any node */
  @Column({ name: 'sub_id_ranges', type: 'jsonb', default: () => "'[]'" })
  subIdRanges!: Array<[number, number]>;

  /** where the API reaches this node's agent API (GOVERNOR_AGENT_URL, or the address it listens on); null for a node that serves none */
  @Column({ name: 'agent_url', type: 'text', nullable: true })
  agentUrl!: string | null;

  /** the node's own GOVERNOR_HEARTBEAT_INTERVAL: a heartbeat older than two of them makes the node NotReady */
  @Column({ name: 'heartbeat_interval_ms', type: 'integer', default: 10000 })
  heartbeatIntervalMs!: number;

  @CreateDateColumn({ name: 'registered_at', type: 'timestamptz' })
  registeredAt!: Date;

  @Column({ name: 'heartbeat_at', type: 'timestamptz' })
  heartbeatAt!: Date;
}
