import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpositionBuffer } from './exposition-buffer';

describe('ExpositionBuffer', () => {
  it('grows past its first size and keeps what was written before, in order', () => {
    const out = new ExpositionBuffer(1);
    const line = Buffer.from('governor_tenant_cpu_usage_seconds_total{tenant="acme"} ');
    for (let i = 0; i < 100; i += 1) {
      out.bytes(line);
      out.ascii(`${i * 1.5}`);
      out.byte(0x0a);
    }
    const text = out.finish().toString();
    const lines = text.split('\n');
    assert.equal(lines.length, 101);
    assert.equal(lines[0], 'governor_tenant_cpu_usage_seconds_total{tenant="acme"} 0');
    assert.equal(lines[99], 'governor_tenant_cpu_usage_seconds_total{tenant="acme"} 148.5');
    assert.equal(out.size, Buffer.byteLength(text));
  });

  it('encodes text as UTF-8, counting bytes rather than characters', () => {
    const out = new ExpositionBuffer(4);
    out.text('# HELP ünï 東京');
    out.ascii(' 1e+21');
    assert.equal(out.finish().toString(), '# HELP ünï 東京 1e+21');
    assert.equal(out.size, Buffer.byteLength('# HELP ünï 東京 1e+21'));
  });
});
