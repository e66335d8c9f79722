import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated with `npm run migration:generate` and trimmed to its real change, as the ones before it: the kill
 * deadline of a stopped workload (the end of its grace), which was a timer in memory and was lost on restart.
 */
export class WorkloadKillDeadline1796528090099 implements MigrationInterface {
  name = 'WorkloadKillDeadline1796528090099';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "workloads" ADD "kill_at" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "workloads" DROP COLUMN "kill_at"`);
  }
}
