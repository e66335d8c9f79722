import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated with `npm run migration:generate`, then read: the generator also proposed dropping the CHECK
 * constraints of quota_requests and tenant_events (the entities do not model them) and re-spelling
 * column defaults it reads back differently; those lines were noise and are left out.
 */
export class IdempotencyKeys1796517326346 implements MigrationInterface {
  name = 'IdempotencyKeys1796517326346';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "idempotency_keys" ("scope" text NOT NULL, "key" text NOT NULL, "request_hash" text NOT NULL, "status" integer, "response" jsonb, "headers" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("scope", "key"))`,
    );
    await queryRunner.query(`CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys"  ("expires_at") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idempotency_keys_expires_idx"`);
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
  }
}
