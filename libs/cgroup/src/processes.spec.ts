import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { checkAttachable } from './processes';

describe('checkAttachable', () => {
  it('refuses init, the governor itself and kernel threads', () => {
    assert.equal(checkAttachable(1).ok, false);
    assert.deepEqual(checkAttachable(process.pid), {
      ok: false,
      reason: 'self',
      message: `pid ${process.pid} is the governor itself and cannot be attached to a tenant`,
    });
    const kthreadd = checkAttachable(2);
    assert.equal(kthreadd.ok, false);
    assert.equal(!kthreadd.ok && kthreadd.reason, 'kernel-thread');
  });

  it('says a pid that does not exist is missing', () => {
    const gone = spawnSync('/bin/true').pid;
    const check = checkAttachable(gone);
    assert.equal(!check.ok && check.reason, 'missing');
  });

  it('accepts an ordinary process', () => {
    const child = spawn('/bin/sleep', ['10']);
    try {
      assert.deepEqual(checkAttachable(child.pid!), { ok: true });
    } finally {
      child.kill();
    }
  });
});
