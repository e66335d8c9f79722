import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResyncRecords } from './resync-records';

describe('ResyncRecords', () => {
  it('hands a resync reconcile its record once, and a change reconcile none', () => {
    const records = new ResyncRecords<string>();
    records.keep(
      records.readStarts(),
      new Map([
        ['acme', 'acme@1'],
        ['beta', 'beta@1'],
      ]),
    );
    assert.equal(records.start('acme', 'resync'), 'acme@1');
    records.end('acme');
    assert.equal(records.start('acme', 'resync'), undefined);
    records.end('acme');
    assert.equal(records.start('beta', 'change'), undefined);
    records.end('beta');
    assert.equal(records.start('beta', 'resync'), undefined);
  });

  it('drops the record of a tenant whose reconcile ran across or after the read began', () => {
    const records = new ResyncRecords<string>();
    records.start('acme', 'change');
    const readAt = records.readStarts();
    records.start('beta', 'change');
    records.end('beta');
    // acme still runs, beta ended after the read began, gamma was not touched.
    records.keep(
      readAt,
      new Map([
        ['acme', 'acme@1'],
        ['beta', 'beta@1'],
        ['gamma', 'gamma@1'],
      ]),
    );
    records.end('acme');
    assert.equal(records.start('acme', 'resync'), undefined);
    assert.equal(records.start('beta', 'resync'), undefined);
    assert.equal(records.start('gamma', 'resync'), 'gamma@1');
  });

  it('keeps the records of a tenant reconciled before the read began', () => {
    const records = new ResyncRecords<string>();
    records.start('acme', 'change');
    records.end('acme');
    records.keep(records.readStarts(), new Map([['acme', 'acme@2']]));
    assert.equal(records.start('acme', 'resync'), 'acme@2');
  });

  it("forgets a previous resync's records that were never used, such as a tenant deleted since", () => {
    const records = new ResyncRecords<string>();
    records.keep(records.readStarts(), new Map([['gone', 'gone@1']]));
    records.keep(records.readStarts(), new Map([['acme', 'acme@1']]));
    assert.equal(records.size, 1);
    assert.equal(records.start('gone', 'resync'), undefined);
  });
});
