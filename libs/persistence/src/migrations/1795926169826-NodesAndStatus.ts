import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NodesAndStatus1795926169826 implements MigrationInterface {
  name = 'NodesAndStatus1795926169826';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "nodes" ("name" text NOT NULL, "role" text NOT NULL, "kernel" text NOT NULL, "cgroup_mode" text NOT NULL, "cgroup_mount" text NOT NULL, "cgroup_root" text NOT NULL, "controllers_available" text array NOT NULL, "controllers_missing" text array NOT NULL, "features" jsonb NOT NULL, "registered_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "heartbeat_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "nodes_pkey" PRIMARY KEY ("name"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "tenant_statuses" ("tenant_id" uuid NOT NULL, "node" text NOT NULL, "observed_generation" bigint NOT NULL DEFAULT '0', "phase" text NOT NULL, "conditions" jsonb NOT NULL DEFAULT '[]'::jsonb, "cgroup_path" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "tenant_statuses_pkey" PRIMARY KEY ("tenant_id", "node"))`,
    );
    await queryRunner.query(`ALTER TABLE "tenants" ADD "force_generation" bigint`);
    await queryRunner.query(
      `ALTER TABLE "tenant_statuses" ADD CONSTRAINT "tenant_statuses_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tenant_statuses" DROP CONSTRAINT "tenant_statuses_tenant_fk"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "force_generation"`);
    await queryRunner.query(`DROP TABLE "tenant_statuses"`);
    await queryRunner.query(`DROP TABLE "nodes"`);
  }
}
