import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';

/**
 * For the TypeORM CLI only (`npm run migration:generate`), against a scratch database named by
 * DATABASE_URL. The service itself never reads this file.
 */
export default new DataSource(dataSourceOptions(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/governor_dev'));
