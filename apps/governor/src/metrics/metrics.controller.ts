import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';
import { MetricsExporter } from './metrics.exporter';
import { MetricsTokenGuard } from './metrics-token.guard';

@ApiExcludeController()
@Access('public')
@UseGuards(MetricsTokenGuard)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly exporter: MetricsExporter) {}

  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    res.type(this.exporter.contentType).send(await this.exporter.exposition());
  }
}
