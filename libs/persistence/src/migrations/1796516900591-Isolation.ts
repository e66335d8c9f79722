import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated with `npm run migration:generate`, then read and trimmed: the generator also proposed dropping the
 * CHECK constraints of quota_requests and tenant_events (the entities do not declare them) and rewriting eight
 * jsonb/text[] defaults that are equal already ('{}' vs '{}'::jsonb); those statements were removed. The kind
 * check of tenant_events is widened by hand for the events of issue 11: `init` (the tenant init died and was
 * started again) and `pids` (the tenant hit pids.max).
 */
export class Isolation1796516900591 implements MigrationInterface {
  name = 'Isolation1796516900591';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tenant_statuses" ADD "isolation" jsonb`);
    await queryRunner.query(`ALTER TABLE "tenant_events" DROP CONSTRAINT "tenant_events_kind_check"`);
    await queryRunner.query(
      `ALTER TABLE "tenant_events" ADD CONSTRAINT "tenant_events_kind_check" CHECK (kind IN ('oom-kill', 'throttling', 'workload', 'init', 'pids'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "tenant_events" WHERE kind IN ('init', 'pids')`);
    await queryRunner.query(`ALTER TABLE "tenant_events" DROP CONSTRAINT "tenant_events_kind_check"`);
    await queryRunner.query(`ALTER TABLE "tenant_events" ADD CONSTRAINT "tenant_events_kind_check" CHECK (kind IN ('oom-kill', 'throttling', 'workload'))`);
    await queryRunner.query(`ALTER TABLE "tenant_statuses" DROP COLUMN "isolation"`);
  }
}
