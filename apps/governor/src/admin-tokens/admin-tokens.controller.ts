import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequestId } from '../auth/access.decorator';
import type { Principal } from '../auth/principal';
import { parseCreateAdminToken } from './admin-token.request';
import { type AdminTokenView, AdminTokensService } from './admin-tokens.service';

class CreateAdminTokenDto {
  @ApiProperty({ example: 'ci-deployer' }) name!: string;
  @ApiPropertyOptional({ example: '2030-01-01T00:00:00Z' }) expiresAt?: string;
}

class AdminTokenDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) createdBy!: string | null;
  @ApiProperty({ nullable: true, type: String }) expiresAt!: string | null;
}

class AdminTokenListDto {
  @ApiProperty({ type: [AdminTokenDto] }) items!: AdminTokenDto[];
}

class IssuedAdminTokenDto extends AdminTokenDto {
  @ApiProperty({ description: 'shown once; only its hash is stored' }) token!: string;
}

@ApiTags('admin-tokens')
@ApiBearerAuth()
@Controller('v1/admin-tokens')
export class AdminTokensController {
  constructor(private readonly tokens: AdminTokensService) {}

  @Post()
  @ApiOperation({ summary: 'Issue a named admin token; the secret is shown once' })
  @ApiBody({ type: CreateAdminTokenDto })
  @ApiResponse({ status: 201, type: IssuedAdminTokenDto })
  async create(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<AdminTokenView & { token: string }> {
    return this.tokens.create(parseCreateAdminToken(body), { principal, requestId });
  }

  @Get()
  @ApiOperation({ summary: 'List live admin tokens (never their secrets)' })
  @ApiResponse({ status: 200, type: AdminTokenListDto })
  async list(): Promise<{ items: AdminTokenView[] }> {
    return { items: await this.tokens.list() };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an admin token' })
  async revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal, @RequestId() requestId: string | undefined): Promise<void> {
    await this.tokens.revoke(id, { principal, requestId });
  }
}
