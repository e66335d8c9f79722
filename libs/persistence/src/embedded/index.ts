export { EMBEDDED_DATABASE, EMBEDDED_ROLE, EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres';
export { LegacyPgliteError, legacyPgliteDir } from './legacy-pglite';
export { SERVER_USER } from './server-user';
