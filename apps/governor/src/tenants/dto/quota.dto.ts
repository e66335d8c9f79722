/**
 * The quota in the OpenAPI document. Its schema (and its sections') is built from QUOTA_SCHEMA in
 * quota.schema.ts and put in place of this class's empty one when the document is made (app.factory.ts):
 * the class only gives DTOs that hold a quota a name to refer to.
 */
export class QuotaDto {}

/** The same for a JSON merge patch of a quota (QuotaPatchDto: null removes). */
export class QuotaPatchDto {}
