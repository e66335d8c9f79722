import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QUOTA_REQUEST_STATES } from '../quota-request.request';

/** A quota request as the API answers it (QuotaRequestsService's QuotaRequestView), for the OpenAPI document. */
export class QuotaRequestDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() tenant!: string;
  @ApiProperty({ enum: QUOTA_REQUEST_STATES }) state!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'the merge patch of the quota asked for, in canonical units (null removes)',
    example: { memory: { max: 1073741824 } },
  })
  quota!: Record<string, unknown>;
  @ApiProperty() reason!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) decidedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) decidedBy!: string | null;
  @ApiProperty({ type: String, nullable: true }) decisionReason!: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'for a pending request, what approving it would write now (per node), with warnings',
  })
  plan!: Record<string, unknown> | null;
  @ApiPropertyOptional({ description: 'why a pending request has no plan' }) planError?: string;
}

export class QuotaRequestListDto {
  @ApiProperty({ type: [QuotaRequestDto] }) items!: QuotaRequestDto[];
}
