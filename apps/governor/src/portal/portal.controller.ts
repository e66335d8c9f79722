import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';
import { type PortalFile, PortalAssets } from './portal-assets';
import { PORTAL_HEADERS } from './portal.headers';

/**
 * The web portal's static files. Public: the page holds no data, it asks the API for everything with the
 * key the person signs in with.
 */
@ApiExcludeController()
@Access('public')
@Controller('portal')
export class PortalController {
  constructor(private readonly assets: PortalAssets) {}

  @Get()
  async index(@Res() res: Response): Promise<void> {
    send(res, await this.assets.index());
  }

  @Get('*path')
  async file(@Param('path') path: string[] | string, @Res() res: Response): Promise<void> {
    const segments = (Array.isArray(path) ? path : path.split('/')).filter((segment) => segment !== '');
    send(res, await this.assets.file(segments));
  }
}

function send(res: Response, file: PortalFile): void {
  res
    .set(PORTAL_HEADERS)
    .set('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .type(file.contentType)
    .send(file.body);
}
