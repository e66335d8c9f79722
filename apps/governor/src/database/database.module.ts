import { type DynamicModule, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { dataSourceOptions, migrate } from '../../../../libs/persistence/src';

/** Runs pending migrations before anything else touches the database. */
@Injectable()
class Migrations implements OnModuleInit {
  private readonly logger = new Logger('database');

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async onModuleInit(): Promise<void> {
    const applied = await migrate(this.db);
    if (applied.length > 0) this.logger.log({ applied }, `applied ${applied.length} migration(s)`);
  }
}

/** The connection URL, for the one client that cannot share the pool: the LISTEN connection. */
export const DATABASE_URL = Symbol('DATABASE_URL');

@Module({})
export class DatabaseModule {
  static forUrl(url: string): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [TypeOrmModule.forRoot({ ...dataSourceOptions(url), retryAttempts: 3, retryDelay: 1000 })],
      providers: [Migrations, { provide: DATABASE_URL, useValue: url }],
      exports: [DATABASE_URL],
    };
  }
}
