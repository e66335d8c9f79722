import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CPU_FIELDS,
  CPUSET_FIELDS,
  IO_FIELDS,
  IO_LIMIT_FIELDS,
  MEMORY_FIELDS,
  NETWORK_FIELDS,
  PIDS_FIELDS,
  QUOTA_SECTIONS,
} from '../../../../../libs/domain/src/quota';
import { QUOTA_SCHEMA, quotaSchemas } from './quota.schema';

describe('the quota in the OpenAPI document', () => {
  it('documents exactly the sections and fields the validator accepts', () => {
    assert.deepEqual(Object.keys(QUOTA_SCHEMA), [...QUOTA_SECTIONS]);
    const fields: Record<string, readonly string[]> = {
      cpu: CPU_FIELDS,
      memory: MEMORY_FIELDS,
      pids: PIDS_FIELDS,
      io: IO_FIELDS,
      cpuset: CPUSET_FIELDS,
      network: NETWORK_FIELDS,
    };
    for (const section of QUOTA_SECTIONS) assert.deepEqual(Object.keys(QUOTA_SCHEMA[section]), [...fields[section]], section);
    assert.deepEqual(Object.keys(QUOTA_SCHEMA.io.limits), [...IO_LIMIT_FIELDS]);
  });

  it('types sizes, rates and io limits as an integer or a string, and cores as a number or a string', () => {
    const schemas = quotaSchemas();
    const oneOf = (schema: string, field: string) =>
      ((schemas[schema].properties![field] as { oneOf?: Array<{ type: string }> }).oneOf ?? []).map((s) => s.type);
    assert.deepEqual(oneOf('MemoryQuotaDto', 'max'), ['integer', 'string']);
    assert.deepEqual(oneOf('NetworkQuotaDto', 'ingress'), ['integer', 'string']);
    assert.deepEqual(oneOf('IoLimitDto', 'rbps'), ['integer', 'string']);
    assert.deepEqual(oneOf('IoLimitDto', 'wiops'), ['integer', 'string']);
    assert.deepEqual(oneOf('CpuQuotaDto', 'max'), ['number', 'string']);
    assert.deepEqual(schemas.IoLimitDto.required, ['device']);
    assert.deepEqual(schemas.QuotaDto.properties!.io, { $ref: '#/components/schemas/IoQuotaDto' });
  });

  it('gives a merge patch of a quota the same fields, each of which may be null to remove it', () => {
    const schemas = quotaSchemas();
    assert.equal((schemas.MemoryQuotaPatchDto.properties!.max as { nullable?: boolean }).nullable, true);
    assert.equal((schemas.MemoryQuotaDto.properties!.max as { nullable?: boolean }).nullable, undefined);
    assert.deepEqual(Object.keys(schemas.QuotaPatchDto.properties!), Object.keys(schemas.QuotaDto.properties!));
    assert.deepEqual(schemas.QuotaPatchDto.properties!.cpu, { allOf: [{ $ref: '#/components/schemas/CpuQuotaPatchDto' }], nullable: true });
  });
});
