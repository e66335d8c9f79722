export * from './entities';
export { dataSourceOptions, migrate } from './data-source';
export { EmbeddedPostgres } from './embedded-postgres';
