import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated with `npm run migration:generate` and trimmed to its real change, as the two before it (the
 * generator's CHECK drops and no-op default rewrites removed): a tenant's optional rootfs and hostname, set at
 * create.
 */
export class TenantRootfs1796519684329 implements MigrationInterface {
  name = 'TenantRootfs1796519684329';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tenants" ADD "rootfs" text`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "hostname" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "hostname"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "rootfs"`);
  }
}
