import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { type Page, parseLimit } from '../common/pagination';
import { type AuditEntryView, AuditService } from './audit.service';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'Who did what, when: newest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 500, default 50' })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'target', required: false, description: 'only entries about this target, e.g. tenants/acme' })
  async list(@Query('limit') limit: unknown, @Query('cursor') cursor: unknown, @Query('target') target: unknown): Promise<Page<AuditEntryView>> {
    return this.audit.list(parseLimit(limit), cursor, typeof target === 'string' ? target : undefined);
  }
}
