import type { FieldError } from '../../../../libs/domain/src/errors';

/** An RFC 9457 problem document, with the field errors and the request id Governor adds. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors: FieldError[];
  requestId?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The Problem above as the OpenAPI document shows it: the default response of every operation. */
export const PROBLEM_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'title', 'status', 'detail', 'errors'],
  properties: {
    type: { type: 'string', example: 'urn:governor:problem:validation' },
    title: { type: 'string', example: 'Bad Request' },
    status: { type: 'integer', example: 400 },
    detail: { type: 'string', description: 'what was wrong and what is allowed' },
    errors: {
      type: 'array',
      description: 'each bad field: where it is and what is allowed',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'message'],
        properties: { path: { type: 'string', example: 'quota.memory.high' }, message: { type: 'string' } },
      },
    },
    requestId: { type: 'string', description: 'the X-Request-Id of the request, also in the log line' },
  },
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail: string, errors: FieldError[] = []): Problem {
  return { type: `urn:governor:problem:${code}`, title: TITLES[status] ?? 'Error', status, detail, errors };
}
