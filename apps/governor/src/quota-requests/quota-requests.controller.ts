import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiPropertyOptional, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequestId } from '../auth/access.decorator';
import type { Principal } from '../auth/principal';
import { parseLimit } from '../common/pagination';
import { parseDecision, parseStateFilter, QUOTA_REQUEST_STATES } from './quota-request.request';
import { type QuotaRequestView, QuotaRequestsService } from './quota-requests.service';
import { QuotaRequestDto, QuotaRequestListDto } from './dto/quota-request.dto';

class DecisionDto {
  @ApiPropertyOptional({ example: 'approved for the launch week', description: 'required to reject, optional to approve; at most 1000 characters' })
  reason?: string;
}

@ApiTags('quota-requests')
@ApiBearerAuth()
@Controller('v1/quota-requests')
export class QuotaRequestsController {
  constructor(private readonly requests: QuotaRequestsService) {}

  @Get()
  @ApiOperation({ summary: "Tenants' quota requests; pending ones oldest first, with their plans" })
  @ApiQuery({ name: 'state', required: false, enum: QUOTA_REQUEST_STATES })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 500, default 50' })
  @ApiResponse({ status: 200, type: QuotaRequestListDto })
  async list(@Query('state') state: unknown, @Query('limit') limit: unknown): Promise<{ items: QuotaRequestView[] }> {
    return { items: await this.requests.list(parseStateFilter(state), parseLimit(limit)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One quota request' })
  @ApiResponse({ status: 200, type: QuotaRequestDto })
  async get(@Param('id') id: string): Promise<QuotaRequestView> {
    return this.requests.get(id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiOperation({ summary: "Approve: the patch is applied to the tenant's quota through the normal path (ledger, generation, reconcile)" })
  @ApiBody({ type: DecisionDto, required: false })
  @ApiResponse({ status: 200, type: QuotaRequestDto })
  async approve(
    @Param('id') id: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<QuotaRequestView> {
    return this.requests.approve(id, { principal, requestId }, parseDecision(body, false));
  }

  @Post(':id/reject')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject with a reason the tenant will see' })
  @ApiBody({ type: DecisionDto })
  @ApiResponse({ status: 200, type: QuotaRequestDto })
  async reject(
    @Param('id') id: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<QuotaRequestView> {
    return this.requests.reject(id, { principal, requestId }, parseDecision(body, true) as string);
  }
}
