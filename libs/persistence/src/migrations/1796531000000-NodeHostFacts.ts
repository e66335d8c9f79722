import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Written by hand in the shape `npm run migration:generate` gives, and checked with it: after these migrations a
 * `migration:generate --dryrun` shows nothing for `nodes`, only the generator's usual CHECK drops and jsonb
 * default rewrites that the earlier migrations trimmed too. What admission needs of a node beyond its CPU count
 * and MemTotal — the CPUs it has online as a list (a cpuset naming another is refused) and the system reservation
 * its agent declares (GOVERNOR_SYSTEM_RESERVED) — and, for the uid allocation the API does, the [start, count]
 * entries of the node's /etc/subuid and /etc/subgid.
 */
export class NodeHostFacts1796531000000 implements MigrationInterface {
  name = 'NodeHostFacts1796531000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "nodes" ADD "cpu_list" text`);
    await queryRunner.query(`ALTER TABLE "nodes" ADD "reserved_cpus" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "nodes" ADD "reserved_memory_bytes" bigint NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "nodes" ADD "sub_id_ranges" jsonb NOT NULL DEFAULT '[]'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "sub_id_ranges"`);
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "reserved_memory_bytes"`);
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "reserved_cpus"`);
    await queryRunner.query(`ALTER TABLE "nodes" DROP COLUMN "cpu_list"`);
  }
}
