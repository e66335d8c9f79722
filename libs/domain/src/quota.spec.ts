import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FieldError, ValidationError } from './errors';
import { canonicalQuotaPatch, parseQuota, readQuota } from './quota';

/** The field errors parseQuota throws for the input; fails the test when it does not throw. */
function errorsOf(input: unknown): FieldError[] {
  try {
    parseQuota(input);
  } catch (err) {
    assert.ok(err instanceof ValidationError, 'throws a ValidationError');
    return err.errors;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be refused`);
}

function errorAt(input: unknown, path: string): FieldError {
  const errors = errorsOf(input);
  const found = errors.find((e) => e.path === path);
  assert.ok(found, `expected an error at ${path}, got ${JSON.stringify(errors)}`);
  return found;
}

const README_EXAMPLE = {
  cpu: { max: '1.5', period: '100ms', weight: 100, burst: '20ms' },
  memory: { max: '512Mi', high: '480Mi', low: '64Mi', min: '0', swapMax: '0' },
  pids: { max: 256 },
  io: { weight: 100, limits: [{ device: '8:0', rbps: '50M', wbps: '20M', riops: 1000, wiops: 500 }] },
  cpuset: { cpus: '0-1', mems: '0' },
  network: { ingress: '100Mbit', egress: '50Mbit' },
};

describe('parseQuota', () => {
  it('turns the documented example into its canonical form', () => {
    assert.deepEqual(parseQuota(README_EXAMPLE), {
      cpu: { max: '1.5', period: '100ms', weight: 100, burst: '20ms' },
      memory: { max: 536870912, high: 503316480, low: 67108864, min: 0, swapMax: 0 },
      pids: { max: 256 },
      io: { weight: 100, limits: [{ device: '8:0', rbps: 50_000_000, wbps: 20_000_000, riops: 1000, wiops: 500 }] },
      cpuset: { cpus: '0-1', mems: '0' },
      network: { ingress: 100_000_000, egress: 50_000_000 },
    });
  });

  it('accepts an empty quota and leaves out sections with nothing set', () => {
    assert.deepEqual(parseQuota({}), {});
    assert.deepEqual(parseQuota({ cpu: {}, memory: {}, pids: {}, io: {}, cpuset: {}, network: {} }), {});
    assert.deepEqual(parseQuota({ io: { limits: [] } }), {});
    assert.deepEqual(parseQuota({ memory: {}, pids: { max: 'max' } }), { pids: { max: 'max' } });
  });

  it('keeps "max" as an explicit unlimited, distinct from not set', () => {
    assert.deepEqual(parseQuota({ cpu: { max: 'max' }, memory: { max: 'max', swapMax: 'max' }, network: { egress: 'max' } }), {
      cpu: { max: 'max' },
      memory: { max: 'max', swapMax: 'max' },
      network: { egress: 'max' },
    });
  });

  it('canonicalises units, numbers written as text, and the order of io limits', () => {
    const quota = parseQuota({
      cpu: { max: 2.5, period: '0.1s' },
      memory: { max: 1073741824, high: '1Gi' },
      io: {
        limits: [
          { device: '259:0', wiops: 'max' },
          { device: '008:16', rbps: 1048576 },
          { device: '8:0', rbps: '1Mi' },
        ],
      },
      cpuset: { cpus: '3,0-2,7', mems: '1,0' },
      network: { ingress: '1Gbit', egress: 1000 },
    });
    assert.deepEqual(quota, {
      cpu: { max: '2.5', period: '100ms' },
      memory: { max: 1073741824, high: 1073741824 },
      io: {
        limits: [
          { device: '8:0', rbps: 1048576 },
          { device: '8:16', rbps: 1048576 },
          { device: '259:0', wiops: 'max' },
        ],
      },
      cpuset: { cpus: '0-3,7', mems: '0-1' },
      network: { ingress: 1_000_000_000, egress: 1000 },
    });
  });

  it('writes fields in a fixed order whatever order they came in', () => {
    const quota = parseQuota({ network: { egress: 1, ingress: 2 }, cpu: { weight: 5, max: '1' } });
    assert.deepEqual(Object.keys(quota), ['cpu', 'network']);
    assert.deepEqual(Object.keys(quota.cpu ?? {}), ['max', 'weight']);
    assert.deepEqual(Object.keys(quota.network ?? {}), ['ingress', 'egress']);
  });

  it('parses its own canonical output to itself (idempotent), also after a JSON round trip', () => {
    const inputs: unknown[] = [
      README_EXAMPLE,
      {},
      { cpu: { max: '0.001', period: '1s', burst: '0us' } },
      { cpu: { period: '1500us', weight: 1 } },
      { memory: { max: '1.5Gi', high: 'max', low: '0.5Ki', min: 0 } },
      {
        io: {
          limits: [
            { device: '8:16', riops: 'max' },
            { device: '8:0', wbps: '1.5K' },
          ],
        },
      },
      { cpuset: { cpus: '6,0-3,4' } },
      { network: { ingress: '1.5kbit' } },
      { network: { outside: true } },
      { network: { egress: '1Mbit', outside: false } },
    ];
    for (const input of inputs) {
      const canonical = parseQuota(input);
      assert.deepEqual(parseQuota(canonical), canonical, JSON.stringify(input));
      assert.deepEqual(parseQuota(JSON.parse(JSON.stringify(canonical))), canonical, JSON.stringify(input));
    }
  });

  it('takes network.outside as a boolean only', () => {
    assert.deepEqual(parseQuota({ network: { outside: true } }), { network: { outside: true } });
    for (const value of ['true', 1, null, {}]) {
      assert.match(errorAt({ network: { outside: value } }, 'quota.network.outside').message, /must be true or false; got/);
    }
  });

  it('writes a merge patch of a quota canonically, keeping nulls and what is only valid merged', () => {
    assert.deepEqual(canonicalQuotaPatch({ memory: { max: '512Mi', high: null }, network: { ingress: '10Mbit' }, pids: null }), {
      memory: { max: 536870912, high: null },
      network: { ingress: 10_000_000 },
      pids: null,
    });
    assert.deepEqual(canonicalQuotaPatch({ cpu: { max: 1.5 } }), { cpu: { max: '1.5' } });
    assert.deepEqual(canonicalQuotaPatch({ cpu: { max: '0.001' } }), { cpu: { max: '0.001' } }, 'below 1 ms of the default period alone, kept as given');
  });

  it('reads the isolation limits: filesystem sizes in bytes, workloads.max and the pids.max policy', () => {
    assert.deepEqual(parseQuota({ filesystem: { tmpSize: '8Mi', homeSize: '1Gi' }, workloads: { max: 3 }, pids: { max: 64, onLimit: 'kill' } }), {
      pids: { max: 64, onLimit: 'kill' },
      filesystem: { tmpSize: 8 * 1024 * 1024, homeSize: 1024 * 1024 * 1024 },
      workloads: { max: 3 },
    });
    assert.match(errorAt({ filesystem: { tmpSize: '512Ki' } }, 'quota.filesystem.tmpSize').message, /at least 1048576 bytes/);
    assert.match(errorAt({ filesystem: { homeSize: 'max' } }, 'quota.filesystem.homeSize').message, /at least 16777216 bytes/);
    assert.match(errorAt({ workloads: { max: 0 } }, 'quota.workloads.max').message, /from 1 to 10000/);
    assert.match(errorAt({ pids: { onLimit: 'freeze' } }, 'quota.pids.onLimit').message, /"none" .* or "kill"/);
  });

  it('does not mutate its input', () => {
    const input = structuredClone(README_EXAMPLE);
    parseQuota(input);
    assert.deepEqual(input, README_EXAMPLE);
  });

  it('refuses a quota that is not an object, naming the sections', () => {
    for (const input of [null, [], 'cpu', 42, true, undefined]) {
      const errors = errorsOf(input);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].path, 'quota');
      assert.match(errors[0].message, /a JSON object with any of cpu, memory, pids, io, cpuset, network/);
    }
  });

  it('refuses sections of the wrong type, such as an array where an object goes', () => {
    const errors = errorsOf({ cpu: [], memory: 'lots', pids: null, io: 3, cpuset: true, network: [{}] });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['quota.cpu', 'quota.memory', 'quota.pids', 'quota.io', 'quota.cpuset', 'quota.network'],
    );
    assert.match(errors[0].message, /must be the cpu section: a JSON object with any of max, period, weight, burst; got an array/);
    assert.match(errors[2].message, /got null/);
  });

  it('reports each unknown field with the allowed ones, at every level', () => {
    const errors = errorsOf({ cpus: {}, memory: { maximum: '1Gi', swap: 0 }, io: { limits: [{ device: '8:0', rbps: 2, iops: 5 }] } });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['quota.cpus', 'quota.memory.maximum', 'quota.memory.swap', 'quota.io.limits[0].iops'],
    );
    assert.match(errors[0].message, /not a known field of a quota; allowed: cpu, memory, pids, io, cpuset, network/);
    assert.match(errors[1].message, /allowed: max, high, low, min, swapMax/);
    assert.match(errors[3].message, /allowed: device, rbps, wbps, riops, wiops/);
  });

  it('does not read fields from Object.prototype', () => {
    const errors = errorsOf(JSON.parse('{"constructor": {}, "__proto__": {"cpu": {"max": "1"}}}'));
    assert.deepEqual(
      errors.map((e) => e.path),
      ['quota.constructor', 'quota.__proto__'],
    );
  });

  it('treats a property holding undefined as absent, as TypeScript does', () => {
    assert.deepEqual(parseQuota({ cpu: undefined, memory: { max: '1Gi', high: undefined } }), { memory: { max: 1073741824 } });
  });

  it('refuses null for a field, since leaving it out is how to leave it unset', () => {
    assert.match(errorAt({ memory: { high: null } }, 'quota.memory.high').message, /got null/);
  });

  it('collects every bad field in one error instead of stopping at the first', () => {
    const errors = errorsOf({
      cpu: { max: '-1', period: '100', weight: 0, burst: 5 },
      memory: { max: '12X', high: 1.5, low: ' 1Gi', min: '٣', swapMax: '16Ei' },
      pids: { max: 0 },
      io: { weight: 10_001, limits: [{ device: '8', rbps: '1e3' }] },
      cpuset: { cpus: '', mems: '3-1' },
      network: { ingress: '100Mbps', egress: -1, outside: 'yes' },
      extra: 1,
    });
    assert.deepEqual(errors.map((e) => e.path).sort(), [
      'quota.cpu.burst',
      'quota.cpu.max',
      'quota.cpu.period',
      'quota.cpu.weight',
      'quota.cpuset.cpus',
      'quota.cpuset.mems',
      'quota.extra',
      'quota.io.limits[0].device',
      'quota.io.limits[0].rbps',
      'quota.io.weight',
      'quota.memory.high',
      'quota.memory.low',
      'quota.memory.max',
      'quota.memory.min',
      'quota.memory.swapMax',
      'quota.network.egress',
      'quota.network.ingress',
      'quota.network.outside',
      'quota.pids.max',
    ]);
  });

  it('summarises many errors in the exception message and keeps one error as the message', () => {
    assert.throws(() => parseQuota({ pids: { max: 0 }, cpu: { weight: 0 } }), /2 fields are invalid: quota.cpu.weight, quota.pids.max/);
    assert.throws(() => parseQuota({ pids: { max: 0 } }), /^ValidationError: quota.pids.max: must be a process count/);
  });

  it('uses the given path as the prefix of every error', () => {
    assert.equal(errorsOf({ pids: { max: 0 } })[0].path, 'quota.pids.max');
    assert.throws(
      () => parseQuota({ pids: { max: 0 } }, 'spec.quota'),
      (err: unknown) => err instanceof ValidationError && err.errors[0].path === 'spec.quota.pids.max',
    );
  });

  it('lets a caller collect quota errors together with its own through readQuota', () => {
    const errors: FieldError[] = [{ path: 'name', message: 'taken' }];
    assert.equal(readQuota({ pids: { max: 0 } }, 'quota', errors)?.pids, undefined);
    assert.deepEqual(
      errors.map((e) => e.path),
      ['name', 'quota.pids.max'],
    );
  });
});

describe('parseQuota io limits', () => {
  it('requires a device in every entry', () => {
    assert.match(errorAt({ io: { limits: [{ rbps: '1M' }] } }, 'quota.io.limits[0].device').message, /is required.*"major:minor"/);
  });

  it('requires at least one of rbps, wbps, riops, wiops in every entry', () => {
    assert.match(errorAt({ io: { limits: [{ device: '8:0' }] } }, 'quota.io.limits[0]').message, /at least one of rbps, wbps, riops, wiops/);
  });

  it('refuses a device listed twice, even written differently', () => {
    const error = errorAt(
      {
        io: {
          limits: [
            { device: '8:0', rbps: 2 },
            { device: '8:16', rbps: 2 },
            { device: '008:00', wbps: 'oops' },
          ],
        },
      },
      'quota.io.limits[2].device',
    );
    assert.match(error.message, /repeats device "8:0" of quota.io.limits\[0\]/);
  });

  it('refuses limits that are not an array, and entries that are not objects', () => {
    assert.match(errorAt({ io: { limits: { device: '8:0' } } }, 'quota.io.limits').message, /must be an array of per-device limits/);
    assert.match(errorAt({ io: { limits: ['8:0 rbps=1'] } }, 'quota.io.limits[0]').message, /must be an io limit: a JSON object/);
  });

  it('refuses io rates of 0 or 1 that the kernel would refuse', () => {
    const errors = errorsOf({ io: { limits: [{ device: '8:0', rbps: 0, wbps: 1, riops: 0, wiops: 1 }] } });
    assert.equal(errors.length, 4);
  });
});
