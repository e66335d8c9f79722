import type { OpenAPIObject } from '@nestjs/swagger';

type SchemaObject = Exclude<NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string], { $ref: string }>;

/**
 * The quota as the OpenAPI document shows it, written once. Each field names its kind (what JSON it
 * takes and gives back) and says what it does; the section schemas and QuotaDto are built from this
 * table, and a spec checks its keys against libs/domain's field lists, so adding a quota field to the
 * document is one line here. The validator itself stays libs/domain's readQuota, which knows the units,
 * bounds and cross-field rules and says what is allowed in every error.
 */
const SIZE_TEXT =
  'bytes as an integer, or a string with Ki/Mi/Gi/Ti/Pi (binary) or K/M/G/T/P (decimal) suffix, or "max"; at most 2^53-1. Returned as an integer or "max".';
const integerOrText = (minimum: number): SchemaObject => ({ oneOf: [{ type: 'integer', minimum }, { type: 'string' }] });

const KINDS = {
  size: { ...integerOrText(0), description: SIZE_TEXT },
  ioBytes: { ...integerOrText(2), description: `bytes per second, at least 2: ${SIZE_TEXT}` },
  ioOps: { ...integerOrText(2), description: 'operations per second, at least 2, or "max"' },
  cores: {
    oneOf: [{ type: 'number', minimum: 0 }, { type: 'string' }],
    description: 'cores: a number or decimal string with at most 4 places, up to 4096, or "max". Returned as a decimal string or "max".',
  },
  duration: { type: 'string', description: 'a number and a unit (us, ms, s, m, h, d), e.g. "100ms". Returned in us, ms or s.' },
  weight: { type: 'integer', minimum: 1, maximum: 10000 },
  pidsMax: { ...integerOrText(1), description: 'at least 1, or "max"' },
  rate: {
    ...integerOrText(1),
    description: 'bits per second as an integer, or a string with bit/Kbit/Mbit/Gbit/Tbit, or "max". Returned as an integer or "max".',
  },
  idList: { type: 'string', description: 'a list such as "0-3,8"; returned normalised' },
  device: { type: 'string', description: 'block device as major:minor' },
  flag: { type: 'boolean' },
} satisfies Record<string, SchemaObject>;

type Kind = keyof typeof KINDS;
interface FieldSpec {
  kind: Kind;
  description: string;
  example: unknown;
}
const field = (kind: Kind, description: string, example: unknown): FieldSpec => ({ kind, description, example });

/** Every quota section and field: the one place to add one. */
export const QUOTA_SCHEMA = {
  cpu: {
    max: field('cores', 'cpu.max: cpu.max × period must be at least 1ms', '1.5'),
    period: field('duration', 'the cpu.max period, 1ms to 1s; default 100ms', '100ms'),
    weight: field('weight', 'cpu.weight, 1 to 10000; the kernel default is 100', 100),
    burst: field('duration', 'cpu.max.burst, at most cpu.max × period', '20ms'),
  },
  memory: {
    max: field('size', 'memory.max', '512Mi'),
    high: field('size', 'memory.high, at most max', '480Mi'),
    low: field('size', 'memory.low, at most high', '64Mi'),
    min: field('size', 'memory.min, at most low', '0'),
    swapMax: field('size', 'memory.swap.max', '0'),
  },
  pids: {
    max: field('pidsMax', 'pids.max', 256),
  },
  io: {
    weight: field('weight', 'io.weight, 1 to 10000 (needs io.cost or BFQ to have an effect)', 100),
    limits: {
      device: field('device', 'the device these limits apply to (required)', '8:0'),
      rbps: field('ioBytes', 'read bytes per second', '50M'),
      wbps: field('ioBytes', 'write bytes per second', '20M'),
      riops: field('ioOps', 'read operations per second', 1000),
      wiops: field('ioOps', 'write operations per second', 500),
    },
  },
  cpuset: {
    cpus: field('idList', 'CPUs the tenant may run on', '0-1'),
    mems: field('idList', 'memory nodes the tenant may allocate from', '0'),
  },
  network: {
    ingress: field('rate', 'into the tenant', '100Mbit'),
    egress: field('rate', 'out of the tenant', '50Mbit'),
    outside: field(
      'flag',
      "whether the tenant may reach the world beyond this host (IP forwarding with masquerade through the host). Off unless true: by default a tenant reaches only its gateway's ICMP echo, never the host's services or another tenant.",
      false,
    ),
  },
} as const;

const isField = (value: unknown): value is FieldSpec => typeof value === 'object' && value !== null && 'kind' in value;

function fieldSchema(spec: FieldSpec): SchemaObject {
  const kind: SchemaObject = KINDS[spec.kind];
  return { ...kind, description: kind.description ? `${spec.description}: ${kind.description}` : spec.description, example: spec.example };
}

/** `cpu` → `CpuQuotaDto` (or `CpuQuotaPatchDto`), the component names the document has always used. */
const sectionName = (section: string, patch: boolean) => `${section[0].toUpperCase()}${section.slice(1)}Quota${patch ? 'Patch' : ''}Dto`;

/**
 * The component schemas of the quota: QuotaDto with one schema per section and IoLimitDto, and the same
 * as a JSON merge patch (QuotaPatchDto…), where every section and field may also be null to remove it.
 */
export function quotaSchemas(): Record<string, SchemaObject> {
  const schemas: Record<string, SchemaObject> = {};
  for (const patch of [false, true]) {
    const nullable = patch ? { nullable: true } : {};
    const quota: SchemaObject = {
      type: 'object',
      additionalProperties: false,
      description: patch
        ? 'a JSON merge patch (RFC 7396) of a quota: what is given replaces, null removes, what is absent stays'
        : 'every field optional: absent means not set, "max" explicitly unlimited',
      properties: {},
    };
    for (const [section, fields] of Object.entries(QUOTA_SCHEMA)) {
      const properties: Record<string, SchemaObject> = {};
      for (const [name, spec] of Object.entries(fields)) {
        if (isField(spec)) {
          properties[name] = { ...fieldSchema(spec), ...nullable };
          continue;
        }
        // A list of records (io.limits): its own component, each entry needing its first field. A patch
        // replaces a list whole (RFC 7396), so its entries are the same in both.
        const entries = Object.entries(spec as Record<string, FieldSpec>);
        schemas.IoLimitDto = {
          type: 'object',
          additionalProperties: false,
          required: [entries[0][0]],
          properties: Object.fromEntries(entries.map(([key, item]) => [key, fieldSchema(item)])),
        };
        properties[name] = { type: 'array', items: { $ref: '#/components/schemas/IoLimitDto' }, ...nullable };
      }
      schemas[sectionName(section, patch)] = { type: 'object', additionalProperties: false, properties };
      // OpenAPI 3.0 ignores siblings of $ref, so a nullable reference is spelled as allOf.
      quota.properties![section] = patch
        ? { allOf: [{ $ref: `#/components/schemas/${sectionName(section, patch)}` }], nullable: true }
        : { $ref: `#/components/schemas/${sectionName(section, patch)}` };
    }
    schemas[patch ? 'QuotaPatchDto' : 'QuotaDto'] = quota;
  }
  return schemas;
}
