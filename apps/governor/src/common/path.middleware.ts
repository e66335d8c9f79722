import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { HttpExceptionCode, HttpLayerException } from './http.exception';

/**
 * Refuses a URL that decodes to a NUL anywhere, path or query. No name, id or filter of this API holds
 * one, and PostgreSQL cannot store it in text, so letting it through only turns a bad request into a 500.
 */
@Injectable()
export class PathMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    if (/%00|\0/i.test(req.originalUrl)) {
      throw new HttpLayerException(
        HttpExceptionCode.MALFORMED_URL,
        'the URL holds a NUL character (%00); names, ids and query values are printable text without NUL',
      );
    }
    next();
  }
}
