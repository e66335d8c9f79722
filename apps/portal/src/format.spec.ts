import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBitsPerSecond, formatBytes, formatCores, formatDuration, formatLimit, limitValue, problemMessage } from './format';

describe('portal formatting', () => {
  it('shows bytes in binary units, as quotas are written', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(268435456), '256 MiB');
    assert.equal(formatBytes(536870912), '512 MiB');
    assert.equal(formatBytes(1.25 * 2 ** 30), '1.25 GiB');
    assert.equal(formatBytes(Number.NaN), 'not available');
  });

  it('shows network rates in decimal bits per second', () => {
    assert.equal(formatBitsPerSecond(0), '0 bit/s');
    assert.equal(formatBitsPerSecond(999), '999 bit/s');
    assert.equal(formatBitsPerSecond(1500), '1.5 kbit/s');
    assert.equal(formatBitsPerSecond(100_000_000), '100 Mbit/s');
    assert.equal(formatBitsPerSecond(2_340_000_000), '2.34 Gbit/s');
  });

  it('shows cores with two decimals, and one core in the singular', () => {
    assert.equal(formatCores(0.4912), '0.49 cores');
    assert.equal(formatCores(1), '1 core');
    assert.equal(formatCores(0), '0 cores');
    assert.equal(formatCores(1.5), '1.5 cores');
    assert.equal(formatCores(12.34), '12.3 cores');
  });

  it('shows durations from milliseconds to days', () => {
    assert.equal(formatDuration(0.25), '250 ms');
    assert.equal(formatDuration(4.23), '4.2 s');
    assert.equal(formatDuration(42), '42 s');
    assert.equal(formatDuration(184), '3 min 4 s');
    assert.equal(formatDuration(120), '2 min');
    assert.equal(formatDuration(7500), '2 h 5 min');
    assert.equal(formatDuration(3 * 86_400 + 4 * 3600), '3 d 4 h');
  });

  it('tells an unlimited quota from one that is not set', () => {
    assert.equal(formatLimit('max', formatBytes), 'unlimited');
    assert.equal(formatLimit(undefined, formatBytes), 'not set');
    assert.equal(formatLimit(268435456, formatBytes), '256 MiB');
    assert.equal(formatLimit('0.5', formatCores), '0.5 cores');
    assert.equal(limitValue('max'), undefined);
    assert.equal(limitValue('1.5'), 1.5);
  });
});

describe('problem+json as a message', () => {
  it('shows the detail and each field error with its path', () => {
    const message = problemMessage(400, {
      type: 'urn:governor:problem:validation',
      title: 'Bad Request',
      status: 400,
      detail: '2 fields are invalid: quota.memory.max, reason',
      errors: [
        { path: 'quota.memory.max', message: 'must be a size such as 512Mi, or "max"' },
        { path: 'reason', message: 'is required' },
      ],
      requestId: 'req-1',
    });
    assert.deepEqual(message, {
      headline: '2 fields are invalid: quota.memory.max, reason',
      fields: ['quota.memory.max: must be a size such as 512Mi, or "max"', 'reason: is required'],
      requestId: 'req-1',
    });
  });

  it('falls back to the title, then to words for the status, when a proxy answers instead', () => {
    assert.equal(problemMessage(409, { title: 'Conflict' }).headline, 'Conflict');
    assert.equal(problemMessage(502, '<html>Bad Gateway</html>').headline, 'The governor could not be reached');
    assert.equal(problemMessage(418, null).headline, 'Request failed (HTTP 418)');
    assert.equal(problemMessage(0, undefined).headline, 'The governor could not be reached');
  });

  it('ignores field errors that are not of the documented shape', () => {
    assert.deepEqual(problemMessage(400, { detail: 'bad', errors: [{ message: 'no path' }, 'junk', { path: 'x' }] }).fields, ['no path']);
  });
});
