import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Workloads1795930366481 implements MigrationInterface {
  name = 'Workloads1795930366481';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "workloads" ("id" text NOT NULL, "tenant_id" uuid NOT NULL, "node" text NOT NULL, "command" text array NOT NULL, "env_names" text array NOT NULL DEFAULT '{}'::text[], "cwd" text NOT NULL, "quota" jsonb NOT NULL DEFAULT '{}'::jsonb, "state" text NOT NULL, "pid" integer, "exit_code" integer, "signal" text, "message" text, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "workloads_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "workloads_node_state_idx" ON "workloads"  ("node", "state") `);
    await queryRunner.query(`CREATE INDEX "workloads_tenant_created_idx" ON "workloads"  ("tenant_id", "created_at") `);
    await queryRunner.query(
      `ALTER TABLE "workloads" ADD CONSTRAINT "workloads_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "workloads" DROP CONSTRAINT "workloads_tenant_fk"`);
    await queryRunner.query(`DROP INDEX "public"."workloads_tenant_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."workloads_node_state_idx"`);
    await queryRunner.query(`DROP TABLE "workloads"`);
  }
}
