import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1795923856119 implements MigrationInterface {
  name = 'Foundation1795923856119';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "admin_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "lookup_id" text NOT NULL, "secret_hash" bytea NOT NULL, "created_by" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "admin_tokens_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "admin_tokens_lookup_live_key" ON "admin_tokens"  ("lookup_id") WHERE revoked_at IS NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX "admin_tokens_name_live_key" ON "admin_tokens"  ("name") WHERE revoked_at IS NULL`);
    await queryRunner.query(
      `CREATE TABLE "audit_log" ("id" BIGSERIAL NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "actor" text NOT NULL, "action" text NOT NULL, "target" text NOT NULL, "request_id" text, "detail" jsonb NOT NULL DEFAULT '{}'::jsonb, CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "audit_log_target_idx" ON "audit_log"  ("target", "at") `);
    await queryRunner.query(`CREATE INDEX "audit_log_at_idx" ON "audit_log"  ("at") `);
    await queryRunner.query(
      `CREATE TABLE "tenants" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "display_name" text, "quota" jsonb NOT NULL DEFAULT '{}'::jsonb, "nodes" text array NOT NULL DEFAULT '{}'::text[], "suspended" boolean NOT NULL DEFAULT false, "generation" bigint NOT NULL DEFAULT '1', "resource_version" bigint NOT NULL DEFAULT '1', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deletion_requested_at" TIMESTAMP WITH TIME ZONE, "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "tenants_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "tenants_name_live_key" ON "tenants"  ("name") WHERE deleted_at IS NULL`);
    await queryRunner.query(
      `CREATE TABLE "quota_ledger" ("id" BIGSERIAL NOT NULL, "tenant_id" uuid NOT NULL, "tenant_name" text NOT NULL, "actor" text NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "before" jsonb, "after" jsonb, "generation" bigint NOT NULL, "request_id" text, CONSTRAINT "quota_ledger_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "quota_ledger_tenant_at_idx" ON "quota_ledger"  ("tenant_id", "at") `);
    await queryRunner.query(
      `ALTER TABLE "quota_ledger" ADD CONSTRAINT "quota_ledger_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    // Hand-written below this line (not generated): extensions and the append-only rules.
    // btree_gist backs the EXCLUDE constraints on uid, gid and address ranges.
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS btree_gist`);
    // The ledger and the audit log are append-only. UPDATE is always refused; DELETE only inside the
    // retention job, which sets governor.retention for its own transaction.
    await queryRunner.query(`CREATE FUNCTION governor_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND current_setting('governor.retention', true) = 'on' THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
            END $$`);
    await queryRunner.query(
      `CREATE TRIGGER quota_ledger_append_only BEFORE UPDATE OR DELETE ON "quota_ledger" FOR EACH ROW EXECUTE FUNCTION governor_append_only()`,
    );
    await queryRunner.query(`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "audit_log" FOR EACH ROW EXECUTE FUNCTION governor_append_only()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER audit_log_append_only ON "audit_log"`);
    await queryRunner.query(`DROP TRIGGER quota_ledger_append_only ON "quota_ledger"`);
    await queryRunner.query(`DROP FUNCTION governor_append_only()`);
    await queryRunner.query(`ALTER TABLE "quota_ledger" DROP CONSTRAINT "quota_ledger_tenant_fk"`);
    await queryRunner.query(`DROP INDEX "public"."quota_ledger_tenant_at_idx"`);
    await queryRunner.query(`DROP TABLE "quota_ledger"`);
    await queryRunner.query(`DROP INDEX "public"."tenants_name_live_key"`);
    await queryRunner.query(`DROP TABLE "tenants"`);
    await queryRunner.query(`DROP INDEX "public"."audit_log_at_idx"`);
    await queryRunner.query(`DROP INDEX "public"."audit_log_target_idx"`);
    await queryRunner.query(`DROP TABLE "audit_log"`);
    await queryRunner.query(`DROP INDEX "public"."admin_tokens_name_live_key"`);
    await queryRunner.query(`DROP INDEX "public"."admin_tokens_lookup_live_key"`);
    await queryRunner.query(`DROP TABLE "admin_tokens"`);
  }
}
