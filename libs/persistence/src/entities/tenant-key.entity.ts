import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TenantEntity } from './tenant.entity';

/**
 * A tenant's API key (gvt_…). As with admin tokens only a SHA-256 of the whole key is kept, found by the
 * key's public lookup id. A key reaches /v1/me/* and nothing else.
 */
@Entity({ name: 'tenant_keys' })
@Index('tenant_keys_lookup_key', ['lookupId'], { unique: true })
@Index('tenant_keys_tenant_idx', ['tenantId', 'createdAt'])
export class TenantKeyEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'tenant_keys_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'tenant_keys_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'lookup_id', type: 'text' })
  lookupId!: string;

  @Column({ name: 'secret_hash', type: 'bytea' })
  secretHash!: Buffer;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** refreshed at most once a minute, so that authentication does not write on every request */
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
