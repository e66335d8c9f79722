export * from './entities';
export { dataSourceOptions, migrate } from './data-source';
export * from './embedded';
