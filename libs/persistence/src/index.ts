export * from './entities';
export { dataSourceOptions, migrate } from './data-source';
export { waitForDatabase } from './wait-for-database';
export * from './embedded';
