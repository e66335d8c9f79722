import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QuotaDto, QuotaPatchDto } from './quota.dto';

export class CreateTenantDto {
  @ApiProperty({ description: '2 to 32 characters: a-z, 0-9 and "-", starting with a letter, ending with a letter or digit', example: 'acme' })
  name!: string;
  @ApiPropertyOptional({ example: 'Acme Corp' })
  displayName?: string;
  @ApiPropertyOptional({ type: QuotaDto })
  quota?: QuotaDto;
  @ApiPropertyOptional({ description: 'nodes the tenant lives on; empty or absent means every node', example: [] })
  nodes?: string[];
}

export class PatchTenantDto {
  @ApiPropertyOptional({ description: 'null removes it', example: 'Acme Corporation', nullable: true })
  displayName?: string | null;
  @ApiPropertyOptional({ type: QuotaPatchDto, nullable: true, description: 'merged into the quota (RFC 7396); null removes a field or the whole quota' })
  quota?: QuotaPatchDto | null;
  @ApiPropertyOptional({ nullable: true })
  nodes?: string[] | null;
  @ApiPropertyOptional({ description: 'freeze (true) or thaw (false) the whole tenant' })
  suspended?: boolean;
}

export class ConditionDto {
  @ApiProperty({ example: 'Reconciled' })
  type!: string;
  @ApiProperty({ enum: ['True', 'False', 'Unknown'] })
  status!: string;
  @ApiProperty({ example: 'NoAgent' })
  reason!: string;
  @ApiProperty()
  message!: string;
}

export class TenantStatusDto {
  @ApiProperty({ description: 'the generation the agents last applied; 0 before any did' })
  observedGeneration!: number;
  @ApiProperty({ enum: ['Pending', 'Ready', 'Degraded', 'Error', 'Suspended', 'Terminating'] })
  phase!: string;
  @ApiProperty({ type: [ConditionDto] })
  conditions!: ConditionDto[];
  @ApiProperty({ description: 'per-node status', type: [Object] })
  nodes!: unknown[];
  @ApiProperty({ nullable: true, type: String })
  cgroupPath!: string | null;
  @ApiProperty({ nullable: true, type: Object, example: { start: 655360000, size: 65536 } })
  uidRange!: { start: number; size: number } | null;
  @ApiProperty({ nullable: true, type: Object })
  gidRange!: { start: number; size: number } | null;
  @ApiProperty({
    nullable: true,
    type: Object,
    description: 'the tenant link: eth0 inside has `address` and routes via `gateway`; address6 and gateway6 only when GOVERNOR_NET6_PREFIX is set',
  })
  network!: { namespace: string; hostInterface: string; address: string; gateway: string; address6?: string; gateway6?: string } | null;
}

export class TenantDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ example: 'acme' })
  name!: string;
  @ApiProperty({ nullable: true, type: String, example: 'Acme Corp' })
  displayName!: string | null;
  @ApiProperty({ type: QuotaDto, description: 'canonical form: sizes in bytes, cores as a decimal string, durations as strings, rates in bit/s' })
  quota!: QuotaDto;
  @ApiProperty({ example: [] })
  nodes!: string[];
  @ApiProperty()
  suspended!: boolean;
  @ApiProperty({ description: 'bumped by changes to what agents enforce' })
  generation!: number;
  @ApiProperty({ description: 'bumped by every change; the ETag' })
  resourceVersion!: number;
  @ApiProperty()
  createdAt!: string;
  @ApiProperty()
  updatedAt!: string;
  @ApiProperty({ type: TenantStatusDto })
  status!: TenantStatusDto;
}

export class TenantPageDto {
  @ApiProperty({ type: [TenantDto] })
  items!: TenantDto[];
  @ApiProperty({ nullable: true, type: String, description: 'pass as ?cursor= for the next page; null on the last page' })
  nextCursor!: string | null;
}

export class LedgerEntryDto {
  @ApiProperty() id!: string;
  @ApiProperty() at!: string;
  @ApiProperty({ example: 'admin:root' }) actor!: string;
  @ApiProperty() generation!: number;
  @ApiProperty({ type: QuotaDto, nullable: true }) before!: QuotaDto | null;
  @ApiProperty({ type: QuotaDto, nullable: true }) after!: QuotaDto | null;
  @ApiProperty({ nullable: true, type: String }) requestId!: string | null;
}

export class LedgerPageDto {
  @ApiProperty({ type: [LedgerEntryDto] }) items!: LedgerEntryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
