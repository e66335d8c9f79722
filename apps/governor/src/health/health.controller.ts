import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { HttpExceptionCode, HttpLayerException } from '../common/http.exception';
import { HealthService } from './health.service';

@ApiTags('health')
@Access('public')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers' })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({
    summary:
      'Readiness: the database answers (and, embedded, its disk has room), and (roles all and agent) the host is prepared: cgroup root, namespaces and firewall',
  })
  async readyz(): Promise<{ status: 'ready'; checks: Record<string, 'ok'> }> {
    if (!(await this.health.databaseAnswers())) {
      throw new HttpLayerException(HttpExceptionCode.DATABASE_UNAVAILABLE, 'not ready: the database does not answer');
    }
    const storageProblem = await this.health.storageProblem();
    if (storageProblem !== undefined) throw new HttpLayerException(HttpExceptionCode.DATABASE_DISK_FULL, `not ready: ${storageProblem}`);
    const hostProblem = this.health.hostProblem();
    if (hostProblem !== undefined) throw new HttpLayerException(HttpExceptionCode.HOST_UNAVAILABLE, `not ready: host setup: ${hostProblem}`);
    return { status: 'ready', checks: { database: 'ok', cgroupRoot: 'ok', namespaces: 'ok', firewall: 'ok' } };
  }
}
