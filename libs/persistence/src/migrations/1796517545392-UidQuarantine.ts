import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated with `npm run migration:generate` and trimmed to its one real change, as Isolation1796516900591
 * was (the generator's CHECK drops and no-op default rewrites removed): a deleted tenant's uid and address
 * blocks wait in quarantine (quarantined_at set, released_at still NULL, so the EXCLUDE constraints keep them
 * taken) until every node that hosted the tenant has confirmed its teardown.
 */
export class UidQuarantine1796517545392 implements MigrationInterface {
  name = 'UidQuarantine1796517545392';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tenant_allocations" ADD "quarantined_at" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tenant_allocations" DROP COLUMN "quarantined_at"`);
  }
}
