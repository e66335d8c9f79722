import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { readObject } from '../../../../libs/domain/src/json';
import type { FieldError } from '../../../../libs/domain/src/errors';
import { CurrentPrincipal, RequestId } from '../auth/access.decorator';
import type { Principal } from '../auth/principal';
import { throwIfAny } from '../common/body';
import { PatchTenantDto } from '../tenants/dto/tenant.dto';
import type { TenantPlan } from './tenant-host.service';
import { type RoutedUsage, TenantHostRouter } from './tenant-host.router';

class AttachProcessDto {
  @ApiProperty({ example: 4242, description: 'an existing process; not 1, the governor or a kernel thread' }) pid!: number;
  @ApiProperty({ required: false, example: 'node-a', description: 'the node the PID is on: required in role api, where a PID means nothing without its host' })
  node?: string;
}

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('v1/tenants/:name')
export class TenantHostController {
  constructor(private readonly host: TenantHostRouter) {}

  @Post('plan')
  @HttpCode(200)
  @ApiOperation({ summary: 'Dry run of a merge patch: per node, the files and values it would write, and warnings' })
  @ApiBody({ type: PatchTenantDto })
  async plan(@Param('name') name: string, @Body() body: unknown): Promise<TenantPlan> {
    return this.host.plan(name, body);
  }

  @Get('usage')
  @ApiOperation({
    summary: 'Live usage from the tenant cgroup: CPU, throttling, memory and its events, pids, io per device, PSI',
    description:
      'With the node it was read on (`node`). In role api each of the tenant’s nodes is asked through its agent: `nodes` holds each node’s usage or why its agent did not answer, and the top level is the first node that answered (503 naming the nodes when none does).',
  })
  async usage(@Param('name') name: string): Promise<RoutedUsage> {
    return this.host.usage(name);
  }

  @Post('processes')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Attach an existing process to the tenant',
    description:
      'Moves the process (and its threads) into the tenant cgroup, under its limits. Only the cgroup changes: a running process cannot be moved into the tenant namespaces, since setns acts on the calling process only. 400 for pid 1, the governor or a kernel thread; 404 for no such pid.',
  })
  @ApiBody({ type: AttachProcessDto })
  async attach(
    @Param('name') name: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<{ pid: number; cgroup: string; node: string }> {
    return this.host.attach(name, body, parsePid, { principal, requestId });
  }
}

export function parsePid(body: unknown): number {
  const errors: FieldError[] = [];
  const record = readObject(body, '', 'an attach request', ['pid'], errors);
  const pid = record?.pid;
  if (record && (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 1 || pid > 4194304)) {
    errors.push({ path: 'pid', message: 'must be a process id: an integer from 1 to 4194304' });
  }
  throwIfAny(errors);
  return pid as number;
}
