import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Access } from '../auth/access.decorator';
import { HttpExceptionCode, HttpLayerException } from '../common/http.exception';

@ApiTags('health')
@Access('public')
@Controller()
export class HealthController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers' })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: the database answers' })
  async readyz(): Promise<{ status: 'ready'; checks: Record<string, 'ok'> }> {
    try {
      await this.db.query('SELECT 1');
    } catch {
      throw new HttpLayerException(HttpExceptionCode.DATABASE_UNAVAILABLE, 'not ready: the database does not answer');
    }
    return { status: 'ready', checks: { database: 'ok' } };
  }
}
