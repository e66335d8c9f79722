import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A named admin token. Only a SHA-256 of the secret is kept: the secrets are 256-bit random strings, so a
 * slow password hash would add nothing but latency to every request.
 */
@Entity({ name: 'admin_tokens' })
@Index('admin_tokens_name_live_key', ['name'], { unique: true, where: 'revoked_at IS NULL' })
@Index('admin_tokens_lookup_live_key', ['lookupId'], { unique: true, where: 'revoked_at IS NULL' })
export class AdminTokenEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'admin_tokens_pkey' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  /** the public part of a gva_ token, used to find the row before the constant-time compare */
  @Column({ name: 'lookup_id', type: 'text' })
  lookupId!: string;

  @Column({ name: 'secret_hash', type: 'bytea' })
  secretHash!: Buffer;

  @Column({ name: 'created_by', type: 'text', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
