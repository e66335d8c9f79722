import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { JSON_MAX_DEPTH, parseJson } from '../../../../libs/domain/src/json';
import { HttpExceptionCode, HttpLayerException } from './http.exception';

export const MAX_BODY_BYTES = 1024 * 1024;
const JSON_TYPES = ['application/json', 'application/merge-patch+json'];
const ENCODINGS = ['identity', 'gzip', 'deflate'] as const;
type Encoding = (typeof ENCODINGS)[number];
const DECODERS: Record<Exclude<Encoding, 'identity'>, (body: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
};
const TOO_LARGE = `the body is larger than the limit of ${MAX_BODY_BYTES} bytes (1 MiB), after decompression`;

/**
 * Reads JSON bodies inside Nest, so that every way a body can be wrong (its type, its encoding, its size
 * before and after decompression, its text, its nesting) reaches the problem filter as a 4xx that says
 * what is allowed, rather than Express's HTML error page or a 500.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(req: Request, _res: Response, next: NextFunction): Promise<void> {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return next();
    if (!JSON_TYPES.some((type) => req.is(type))) {
      throw new HttpLayerException(
        HttpExceptionCode.UNSUPPORTED_MEDIA_TYPE,
        `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '(none)')} is not accepted: send ${JSON_TYPES.join(' or ')}`,
      );
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1].toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw new HttpLayerException(HttpExceptionCode.UNSUPPORTED_MEDIA_TYPE, `charset ${JSON.stringify(charset)} is not accepted: the body must be UTF-8 JSON`);
    }
    const encoding = contentEncoding(req.headers['content-encoding']);
    const raw = await readBody(req);
    const decoded = encoding === 'identity' ? raw : await decode(encoding, raw);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(decoded);
    } catch {
      throw new HttpLayerException(HttpExceptionCode.MALFORMED_JSON, 'the body is not valid UTF-8; send UTF-8 JSON');
    }
    try {
      req.body = parseJson(text, JSON_MAX_DEPTH);
    } catch (err) {
      if (err instanceof SyntaxError) throw new HttpLayerException(HttpExceptionCode.MALFORMED_JSON, `the body is not valid JSON: ${err.message}`);
      throw err;
    }
    next();
  }
}

function contentEncoding(header: string | undefined): Encoding {
  const encoding = (header ?? 'identity').trim().toLowerCase() || 'identity';
  if ((ENCODINGS as readonly string[]).includes(encoding)) return encoding as Encoding;
  throw new HttpLayerException(
    HttpExceptionCode.UNSUPPORTED_MEDIA_TYPE,
    `Content-Encoding ${JSON.stringify(header)} is not accepted: send the body uncompressed, or as one of gzip, deflate`,
  );
}

/** The raw body, refused with 413 as soon as it passes the limit. */
async function readBody(req: Request): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpLayerException(HttpExceptionCode.PAYLOAD_TOO_LARGE, TOO_LARGE);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpLayerException(HttpExceptionCode.PAYLOAD_TOO_LARGE, TOO_LARGE);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function decode(encoding: Exclude<Encoding, 'identity'>, body: Buffer): Promise<Buffer> {
  try {
    return await DECODERS[encoding](body, { maxOutputLength: MAX_BODY_BYTES });
  } catch (err) {
    // zlib refuses output past maxOutputLength with a RangeError: a decompression bomb is "too large".
    if (err instanceof RangeError) throw new HttpLayerException(HttpExceptionCode.PAYLOAD_TOO_LARGE, TOO_LARGE);
    const reason = (err as Error).message;
    throw new HttpLayerException(
      HttpExceptionCode.MALFORMED_JSON,
      `the body is not valid ${encoding} data (${reason}); send it uncompressed, or compressed whole with ${encoding === 'gzip' ? 'gzip' : 'zlib deflate (RFC 1950)'}`,
    );
  }
}
