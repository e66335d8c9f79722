import { Injectable, type NestMiddleware } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { HttpExceptionCode, HttpLayerException } from './http.exception';

export const MAX_BODY_BYTES = 1024 * 1024;
const JSON_TYPES = ['application/json', 'application/merge-patch+json'];

const parse = express.json({ limit: MAX_BODY_BYTES, strict: false, type: JSON_TYPES });

/**
 * Parses JSON bodies inside Nest, so that a malformed or oversized body reaches the problem filter like
 * any other error instead of Express's HTML error page.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !JSON_TYPES.some((type) => req.is(type))) {
      throw new HttpLayerException(
        HttpExceptionCode.UNSUPPORTED_MEDIA_TYPE,
        `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '(none)')} is not accepted: send ${JSON_TYPES.join(' or ')}`,
      );
    }
    await new Promise<void>((resolve, reject) => parse(req, res, (err?: unknown) => (err ? reject(translate(err)) : resolve())));
    next();
  }
}

function translate(err: unknown): unknown {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') {
    return new HttpLayerException(HttpExceptionCode.PAYLOAD_TOO_LARGE, `the body is larger than the limit of ${MAX_BODY_BYTES} bytes (1 MiB)`);
  }
  if (type === 'entity.parse.failed') {
    const reason = err instanceof Error ? err.message : 'unparseable';
    return new HttpLayerException(HttpExceptionCode.MALFORMED_JSON, `the body is not valid JSON: ${reason}`);
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpLayerException(HttpExceptionCode.UNSUPPORTED_MEDIA_TYPE, 'the body must be UTF-8 JSON');
  }
  return err;
}
