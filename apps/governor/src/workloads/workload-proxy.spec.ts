import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../auth/principal';
import { decodePrincipal, encodePrincipal } from './workload-proxy';

describe('the acting principal header', () => {
  it('carries an admin and a tenant key there and back', () => {
    const principals: Principal[] = [
      { kind: 'admin', tokenId: 't1', name: 'root' },
      { kind: 'tenant', keyId: 'k1', tenantId: '6a1f', tenantName: 'jobs' },
    ];
    for (const principal of principals) assert.deepEqual(decodePrincipal(encodePrincipal(principal)), principal);
  });

  it('takes nothing malformed, and only the fields of a principal', () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const header of [
      undefined,
      '',
      'not base64 json',
      encode(null),
      encode([]),
      encode({ kind: 'admin', name: 'root' }),
      encode({ kind: 'agent', name: 'x' }),
    ])
      assert.equal(decodePrincipal(header), undefined, String(header));
    assert.deepEqual(decodePrincipal(encode({ kind: 'admin', tokenId: 't', name: 'n', extra: 1 })), { kind: 'admin', tokenId: 't', name: 'n' });
  });
});
