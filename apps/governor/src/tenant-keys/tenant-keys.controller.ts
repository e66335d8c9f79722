import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequestId } from '../auth/access.decorator';
import type { Principal } from '../auth/principal';
import { parseCreateTenantKey } from './tenant-key.request';
import { type TenantKeyView, TenantKeysService } from './tenant-keys.service';

class CreateTenantKeyDto {
  @ApiProperty({ example: 'portal', description: "1 to 63 characters of a-z, 0-9, '.', '_' and '-'; unique among the tenant's live keys" }) name!: string;
  @ApiPropertyOptional({ example: '30d', description: 'lifetime, 1m to 366d; or give expiresAt. Without either the key lives until revoked' })
  expiresIn?: string;
  @ApiPropertyOptional({ example: '2030-01-01T00:00:00Z' }) expiresAt?: string;
}

class TenantKeyDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'the public start of the key, gvt_<lookup id>' }) prefix!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ nullable: true, type: String }) expiresAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
}

class TenantKeyListDto {
  @ApiProperty({ type: [TenantKeyDto] }) items!: TenantKeyDto[];
}

class IssuedTenantKeyDto extends TenantKeyDto {
  @ApiProperty({ description: 'gvt_…, shown once; only its hash is stored. It reaches /v1/me/* and nothing else' }) key!: string;
}

@ApiTags('tenant-keys')
@ApiBearerAuth()
@Controller('v1/tenants/:name/keys')
export class TenantKeysController {
  constructor(private readonly keys: TenantKeysService) {}

  @Post()
  @ApiOperation({ summary: "Issue a key for the tenant's self-service API (/v1/me); the key is shown once" })
  @ApiBody({ type: CreateTenantKeyDto })
  @ApiResponse({ status: 201, type: IssuedTenantKeyDto })
  async create(
    @Param('name') name: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<TenantKeyView & { key: string }> {
    return this.keys.create(name, parseCreateTenantKey(body), { principal, requestId });
  }

  @Get()
  @ApiOperation({ summary: "List the tenant's keys, live, expired and revoked (never their secrets)" })
  @ApiResponse({ status: 200, type: TenantKeyListDto })
  async list(@Param('name') name: string): Promise<{ items: TenantKeyView[] }> {
    return { items: await this.keys.list(name) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a tenant key; it stops working at once' })
  async revoke(
    @Param('name') name: string,
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
  ): Promise<void> {
    await this.keys.revoke(name, id, { principal, requestId });
  }
}
