import type { FieldError } from '../../../../libs/domain/src/errors';
import { isJsonObject, readObject } from '../../../../libs/domain/src/json';
import { text, throwIfAny } from '../common/body';

export const QUOTA_REQUEST_STATES = ['pending', 'approved', 'rejected', 'withdrawn'] as const;
export type QuotaRequestState = (typeof QUOTA_REQUEST_STATES)[number];

export interface CreateQuotaRequestInput {
  /** a JSON merge patch of the tenant's quota; validated against the quota when the request is made */
  quota: Record<string, unknown>;
  reason: string;
}

/** `{quota: <merge patch of the quota>, reason}`. Whether the patched quota is valid is checked by the caller. */
export function parseCreateQuotaRequest(body: unknown): CreateQuotaRequestInput {
  const errors: FieldError[] = [];
  const record = readObject(body, '', 'a quota request', ['quota', 'reason'], errors);
  const quota = record?.quota;
  if (record && !isJsonObject(quota)) {
    errors.push({ path: 'quota', message: 'is required: a JSON merge patch of the quota, e.g. {"memory": {"max": "1Gi"}}' });
  } else if (record && Object.keys(quota as object).length === 0) {
    errors.push({ path: 'quota', message: 'asks for nothing: name at least one section, e.g. {"memory": {"max": "1Gi"}}' });
  }
  const reason = record ? text(record.reason, 'reason', 1000, errors) : undefined;
  throwIfAny(errors);
  return { quota: quota as Record<string, unknown>, reason: reason as string };
}

/** `{reason}` of a rejection (required) or an approval (optional). */
export function parseDecision(body: unknown, reasonRequired: boolean): string | undefined {
  const errors: FieldError[] = [];
  const record = readObject(body ?? {}, '', 'a decision', ['reason'], errors);
  let reason: string | undefined;
  if (record?.reason !== undefined || reasonRequired) reason = text(record?.reason, 'reason', 1000, errors);
  throwIfAny(errors);
  return reason;
}

export function parseStateFilter(value: unknown): QuotaRequestState | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (QUOTA_REQUEST_STATES as readonly string[]).includes(value)) return value as QuotaRequestState;
  throwIfAny([{ path: 'state', message: `must be one of ${QUOTA_REQUEST_STATES.join(', ')}; got ${JSON.stringify(value)}` }]);
  return undefined;
}
