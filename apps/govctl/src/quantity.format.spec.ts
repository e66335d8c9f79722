import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAge, formatBitRate, formatBytes, formatPercent, formatRate, formatSize, quotaChanges, quotaSummary, readableQuota } from './quantity.format';

describe('quantities in API units', () => {
  it('prints sizes in the largest binary unit that divides them, as the API accepts them', () => {
    assert.equal(formatSize(536870912), '512Mi');
    assert.equal(formatSize(1073741824), '1Gi');
    assert.equal(formatSize(1536), '1536');
    assert.equal(formatSize(1000), '1000');
    assert.equal(formatSize('max'), 'max');
    assert.equal(formatSize(undefined), '-');
  });

  it('rounds measured sizes to one decimal', () => {
    assert.equal(formatBytes(123456789), '117.7Mi');
    assert.equal(formatBytes(2048), '2Ki');
    assert.equal(formatBytes(512), '512');
  });

  it('prints rates in bits per second with decimal units', () => {
    assert.equal(formatRate(100_000_000), '100Mbit');
    assert.equal(formatRate(1_500_000), '1500Kbit');
    assert.equal(formatRate(999), '999bit');
    assert.equal(formatBitRate(1_234_567), '1.2Mbit');
  });

  it('prints shares and ages', () => {
    assert.equal(formatPercent(0.4567), '45.7%');
    assert.equal(formatPercent(1), '100%');
    assert.equal(formatPercent(undefined), '-');
    const now = Date.parse('2026-01-02T00:00:00Z');
    assert.equal(formatAge('2026-01-01T23:59:15Z', now), '45s');
    assert.equal(formatAge('2026-01-01T23:00:00Z', now), '60m');
    assert.equal(formatAge('2025-12-30T00:00:00Z', now), '3d');
  });

  it('turns a canonical quota into the form a person edits, and summarises it', () => {
    const quota = { cpu: { max: '1.5' }, memory: { max: 536870912, high: 'max' as const }, pids: { max: 256 }, network: { ingress: 100_000_000 } };
    assert.deepEqual(readableQuota(quota), { cpu: { max: '1.5' }, memory: { max: '512Mi', high: 'max' }, pids: { max: 256 }, network: { ingress: '100Mbit' } });
    assert.equal(quotaSummary(quota), 'cpu=1.5 mem=512Mi high=max pids=256 in=100Mbit');
  });

  it('lists what changed between two quotas', () => {
    assert.deepEqual(quotaChanges({ memory: { max: 536870912 }, pids: { max: 256 } }, { memory: { max: 1073741824 } }), [
      'memory.max 512Mi→1Gi',
      'pids.max 256→(unset)',
    ]);
    assert.deepEqual(quotaChanges(null, { cpu: { max: '2' } }), ['cpu.max (unset)→2']);
  });
});
