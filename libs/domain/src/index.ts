export * from './errors';
export * from './quota.types';
export { describeValue, JSON_MAX_DEPTH, JsonTooDeepError, parseJson, type Parser } from './json';
export * from './units';
export * from './quota';
export { CPU_PERIOD_DEFAULT_US, CPU_PERIOD_MAX_US, CPU_PERIOD_MIN_US, CPU_QUOTA_MIN_US } from './quota-rules';
export * from './merge-patch';
export * from './tenant-name';
