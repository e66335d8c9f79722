import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TenantAllocations1795930493926 implements MigrationInterface {
  name = 'TenantAllocations1795930493926';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The two EXCLUDE constraints are what keeps live allocations disjoint, whatever the allocator does;
    // released rows (history) are outside the WHERE and may overlap. They come from the entity's @Exclusion
    // decorators, so later generated migrations know them and leave them alone.
    await queryRunner.query(
      `CREATE TABLE "tenant_allocations" ("tenant_id" uuid NOT NULL, "uid_range" int8range NOT NULL, "net_block" cidr NOT NULL, "released_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "tenant_allocations_net_block_excl" EXCLUDE USING gist ("net_block" inet_ops WITH &&) WHERE ("released_at" IS NULL), CONSTRAINT "tenant_allocations_uid_range_excl" EXCLUDE USING gist ("uid_range" WITH &&) WHERE ("released_at" IS NULL), CONSTRAINT "tenant_allocations_pkey" PRIMARY KEY ("tenant_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "tenant_allocations" ADD CONSTRAINT "tenant_allocations_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    // Hand-edited: removed the no-op "ALTER COLUMN ... SET DEFAULT '{}'::jsonb / '{}'::text[]" lines that
    // TypeORM emits on every generate for jsonb and array defaults (and their reverses in down()).
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tenant_allocations" DROP CONSTRAINT "tenant_allocations_tenant_fk"`);
    // Dropping the table drops its EXCLUDE constraints and their gist indexes with it.
    await queryRunner.query(`DROP TABLE "tenant_allocations"`);
  }
}
