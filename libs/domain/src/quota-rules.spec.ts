import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FieldError, ValidationError } from './errors';
import { parseQuota } from './quota';

function errorsOf(input: unknown): FieldError[] {
  try {
    parseQuota(input);
  } catch (err) {
    assert.ok(err instanceof ValidationError, 'throws a ValidationError');
    return err.errors;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be refused`);
}

/** Asserts that the input is refused with exactly one error, at the path, with a message matching every pattern. */
function refusedOnce(input: unknown, path: string, ...patterns: RegExp[]): void {
  const errors = errorsOf(input);
  assert.deepEqual(
    errors.map((e) => e.path),
    [path],
    JSON.stringify(errors),
  );
  for (const pattern of patterns) assert.match(errors[0].message, pattern);
}

describe('memory order: min ≤ low ≤ high ≤ max', () => {
  it('accepts equal values and any subset in order', () => {
    assert.doesNotThrow(() => parseQuota({ memory: { min: '1Gi', low: '1Gi', high: '1Gi', max: '1Gi' } }));
    assert.doesNotThrow(() => parseQuota({ memory: { min: 0, max: 0 } }));
    assert.doesNotThrow(() => parseQuota({ memory: { low: '2Gi', swapMax: '1Ki' } }));
  });

  it('refuses high above max, naming max and its value in bytes', () => {
    refusedOnce(
      { memory: { max: '512Mi', high: '1Gi' } },
      'quota.memory.high',
      /at most quota.memory.max \(536870912 bytes\)/,
      /min ≤ low ≤ high ≤ max/,
      /got 1073741824 bytes/,
    );
  });

  it('refuses low above high and min above low', () => {
    refusedOnce({ memory: { high: '1Mi', low: '2Mi' } }, 'quota.memory.low', /at most quota.memory.high \(1048576 bytes\)/);
    refusedOnce({ memory: { low: 1, min: 2 } }, 'quota.memory.min', /at most quota.memory.low \(1 bytes\)/);
  });

  it('compares fields that are not neighbours when the ones between are not set', () => {
    refusedOnce({ memory: { min: '2Gi', max: '1Gi' } }, 'quota.memory.min', /at most quota.memory.max/);
  });

  it('names the tightest bound, so fixing each reported field fixes the whole order', () => {
    const errors = errorsOf({ memory: { min: 10, low: 5, max: 3 } });
    assert.deepEqual(
      errors.map((e) => [e.path, /at most (quota\.memory\.\w+)/.exec(e.message)?.[1]]),
      [
        ['quota.memory.min', 'quota.memory.max'],
        ['quota.memory.low', 'quota.memory.max'],
      ],
    );
  });

  it('treats "max" as unlimited: it never bounds a lower field and is never too big', () => {
    assert.doesNotThrow(() => parseQuota({ memory: { max: 'max', high: '1Gi', low: '1Gi' } }));
    assert.doesNotThrow(() => parseQuota({ memory: { max: '1Gi', high: 'max' } }));
    assert.doesNotThrow(() => parseQuota({ memory: { min: 'max', low: 'max', high: 'max', max: 'max' } }));
    refusedOnce({ memory: { min: '2Gi', low: 'max', high: '1Gi' } }, 'quota.memory.min', /at most quota.memory.high/);
  });

  it('leaves swapMax out of the order', () => {
    assert.doesNotThrow(() => parseQuota({ memory: { max: '1Gi', swapMax: '2Gi' } }));
  });

  it('does not add order errors about a field that is itself invalid', () => {
    refusedOnce({ memory: { max: 'lots', high: '1Gi' } }, 'quota.memory.max', /must be a size/);
  });
});

describe('cpu period', () => {
  it('accepts 1ms to 1s', () => {
    assert.deepEqual(parseQuota({ cpu: { period: '1ms' } }), { cpu: { period: '1ms' } });
    assert.deepEqual(parseQuota({ cpu: { period: '1000000us' } }), { cpu: { period: '1s' } });
  });

  it('refuses a period under 1ms or over 1s, naming the range', () => {
    refusedOnce({ cpu: { period: '999us' } }, 'quota.cpu.period', /from 1ms to 1s/, /got "999us"/);
    refusedOnce({ cpu: { period: '1001ms' } }, 'quota.cpu.period', /from 1ms to 1s/);
    refusedOnce({ cpu: { period: '0s' } }, 'quota.cpu.period', /from 1ms to 1s/);
  });
});

describe('cpu.max × period ≥ 1ms', () => {
  it('accepts exactly 1ms of quota', () => {
    assert.doesNotThrow(() => parseQuota({ cpu: { max: '0.01' } }));
    assert.doesNotThrow(() => parseQuota({ cpu: { max: '0.001', period: '1s' } }));
    assert.doesNotThrow(() => parseQuota({ cpu: { max: '1', period: '1ms' } }));
  });

  it('refuses less than 1ms with the default period of 100ms, naming the smallest cores', () => {
    refusedOnce(
      { cpu: { max: '0.0099' } },
      'quota.cpu.max',
      /at least 0\.01 cores with a period of 100ms/,
      /cpu\.max × period must be at least 1ms/,
      /got "0\.0099"/,
    );
  });

  it('uses the given period for the smallest cores', () => {
    refusedOnce({ cpu: { max: '0.5', period: '1ms' } }, 'quota.cpu.max', /at least 1 cores with a period of 1ms/);
    refusedOnce({ cpu: { max: '0.0003', period: '3ms' } }, 'quota.cpu.max', /at least 0\.3334 cores with a period of 3ms/);
  });

  it('does not apply to "max" or when the period is invalid', () => {
    assert.doesNotThrow(() => parseQuota({ cpu: { max: 'max', period: '1ms' } }));
    refusedOnce({ cpu: { max: '0.0001', period: '5s' } }, 'quota.cpu.period');
    refusedOnce({ cpu: { max: '0.0001', period: 'soon' } }, 'quota.cpu.period');
  });
});

describe('cpu.burst ≤ cpu.max × period', () => {
  it('accepts a burst up to the quota per period, and a zero burst', () => {
    assert.deepEqual(parseQuota({ cpu: { max: '1.5', burst: '150ms' } }), { cpu: { max: '1.5', burst: '150ms' } });
    assert.doesNotThrow(() => parseQuota({ cpu: { max: '0.5', period: '10ms', burst: '5ms' } }));
    assert.doesNotThrow(() => parseQuota({ cpu: { max: '1', burst: '0ms' } }));
  });

  it('refuses a burst above the quota, naming the largest burst and how it is computed', () => {
    refusedOnce({ cpu: { max: '1.5', burst: '150001us' } }, 'quota.cpu.burst', /at most cpu\.max × period = 150ms \(1\.5 cores × 100ms\)/, /got "150001us"/);
    refusedOnce({ cpu: { max: '0.5', period: '10ms', burst: '6ms' } }, 'quota.cpu.burst', /= 5ms \(0\.5 cores × 10ms\)/);
  });

  it('refuses a burst when cpu.max is not set or is "max", saying burst needs a cpu.max', () => {
    refusedOnce({ cpu: { burst: '20ms' } }, 'quota.cpu.burst', /needs cpu\.max in cores/, /cpu\.max not set/);
    refusedOnce({ cpu: { max: 'max', burst: '20ms' } }, 'quota.cpu.burst', /needs cpu\.max in cores/, /cpu\.max "max"/);
  });

  it('reports only cpu.max when cpu.max itself is invalid', () => {
    refusedOnce({ cpu: { max: 'two', burst: '20ms' } }, 'quota.cpu.max', /cores/);
  });

  it('reports both a too small cpu.max and a too large burst at once', () => {
    const errors = errorsOf({ cpu: { max: '0.001', burst: '1ms' } });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['quota.cpu.max', 'quota.cpu.burst'],
    );
  });
});

describe('weights', () => {
  it('accepts cpu and io weights from 1 to 10000', () => {
    assert.deepEqual(parseQuota({ cpu: { weight: 1 }, io: { weight: 10_000 } }), { cpu: { weight: 1 }, io: { weight: 10_000 } });
  });

  it('refuses weights outside 1..10000 naming the range', () => {
    const errors = errorsOf({ cpu: { weight: 0 }, io: { weight: 10_001 } });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['quota.cpu.weight', 'quota.io.weight'],
    );
    for (const error of errors) assert.match(error.message, /an integer from 1 to 10000/);
  });
});
