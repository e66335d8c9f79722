import { createHash } from 'node:crypto';
import { isJsonObject } from '../../../../libs/domain/src/json';
import { IdempotencyException, IdempotencyExceptionCode } from './idempotency.exception';

/** What the IETF draft (draft-ietf-httpapi-idempotency-key-header) leaves to the server: printable ASCII, bounded. */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, undefined when absent, or a 400 saying what a key may be. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header === 'string' && KEY.test(header)) return header;
  throw new IdempotencyException(IdempotencyExceptionCode.MALFORMED_KEY, 'the Idempotency-Key header is not a valid key', [
    { path: 'Idempotency-Key', message: 'must be given once, 1 to 255 printable ASCII characters without spaces, e.g. a UUID' },
  ]);
}

/**
 * A fingerprint of what a request asks for: its target and its body with object keys sorted, so that a
 * retry that serialises the same JSON differently is still the same request.
 */
export function requestFingerprint(target: string, body: unknown): string {
  return createHash('sha256').update(target).update('\n').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The header as the OpenAPI document describes it, on every create that takes it. */
export const IDEMPOTENCY_KEY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'a key of your choice (1 to 255 printable ASCII characters, e.g. a UUID): a retry with the same key and request within 24 hours gets the first response instead of creating again; the same key with another request is 422',
};
