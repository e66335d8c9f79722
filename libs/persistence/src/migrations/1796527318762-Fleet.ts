import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated with `npm run migration:generate` and trimmed to its real change, as the ones before it (the
 * generator's CHECK drops and no-op default rewrites removed): what an agent says of its host (capacity, the
 * address of its agent API, its heartbeat interval), and the leases of the fleet-wide jobs.
 */
export class Fleet1796527318762 implements MigrationInterface {
  name = 'Fleet1796527318762';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "fleet_leases" ("name" text NOT NULL, "token" bigint NOT NULL DEFAULT '0', "holder" text, "acquired_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "fleet_leases_pkey" PRIMARY KEY ("name"))`,
    );
    await queryRunner.query(`ALTER TABLE "nodes" ADD "capacity_cpus" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "nodes" ADD "capacity_memory_bytes" bigint NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "nodes" ADD "agent_url" text`);
    await queryRunner.query(`ALTER TABLE "nodes" ADD "heartbeat_interval_ms" integer NOT NULL DEFAULT '10000'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "heartbeat_interval_ms"`);
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "agent_url"`);
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "capacity_memory_bytes"`);
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "capacity_cpus"`);
    await queryRunner.query(`DROP TABLE "fleet_leases"`);
  }
}
