import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// OpenAPI descriptions of the quota. Validation is not done by these classes but by libs/domain's
// parseQuota, which knows the units and the cross-field rules; these only document the shape.

const SIZE =
  'bytes as an integer, or a string with Ki/Mi/Gi/Ti/Pi (binary) or K/M/G/T/P (decimal) suffix, or "max"; at most 2^53-1 bytes. Returned as an integer in bytes.';

export class CpuQuotaDto {
  @ApiPropertyOptional({ description: 'cores: a decimal string or number, or "max". cpu.max × period must be at least 1ms.', example: '1.5' })
  max?: string;
  @ApiPropertyOptional({ description: 'the cpu.max period, 1ms to 1s; default 100ms', example: '100ms' })
  period?: string;
  @ApiPropertyOptional({ description: 'cpu.weight, 1 to 10000; the kernel default is 100', example: 100 })
  weight?: number;
  @ApiPropertyOptional({ description: 'cpu.max.burst, at most cpu.max × period', example: '20ms' })
  burst?: string;
}

export class MemoryQuotaDto {
  @ApiPropertyOptional({ description: `memory.max: ${SIZE}`, example: '512Mi', oneOf: [{ type: 'integer' }, { type: 'string' }] })
  max?: number | string;
  @ApiPropertyOptional({ description: `memory.high, at most max: ${SIZE}`, example: '480Mi', oneOf: [{ type: 'integer' }, { type: 'string' }] })
  high?: number | string;
  @ApiPropertyOptional({ description: `memory.low, at most high: ${SIZE}`, example: '64Mi', oneOf: [{ type: 'integer' }, { type: 'string' }] })
  low?: number | string;
  @ApiPropertyOptional({ description: `memory.min, at most low: ${SIZE}`, example: '0', oneOf: [{ type: 'integer' }, { type: 'string' }] })
  min?: number | string;
  @ApiPropertyOptional({ description: `memory.swap.max: ${SIZE}`, example: '0', oneOf: [{ type: 'integer' }, { type: 'string' }] })
  swapMax?: number | string;
}

export class PidsQuotaDto {
  @ApiPropertyOptional({ description: 'pids.max: at least 1, or "max"', example: 256, oneOf: [{ type: 'integer' }, { type: 'string' }] })
  max?: number | string;
  @ApiPropertyOptional({
    enum: ['none', 'kill'],
    description:
      'when a workload hits pids.max (pids.events max grows): "none" (default) records a tenant event (kind pids); "kill" also evicts that workload with cgroup.kill',
  })
  onLimit?: 'none' | 'kill';
}

export class IoLimitDto {
  @ApiProperty({ description: 'block device as major:minor', example: '8:0' })
  device!: string;
  @ApiPropertyOptional({ description: `read bytes per second: ${SIZE}`, example: '50M' })
  rbps?: number | string;
  @ApiPropertyOptional({ description: `write bytes per second: ${SIZE}`, example: '20M' })
  wbps?: number | string;
  @ApiPropertyOptional({ description: 'read operations per second, or "max"', example: 1000 })
  riops?: number | string;
  @ApiPropertyOptional({ description: 'write operations per second, or "max"', example: 500 })
  wiops?: number | string;
}

export class IoQuotaDto {
  @ApiPropertyOptional({ description: 'io.weight, 1 to 10000 (needs io.cost or BFQ to have an effect)', example: 100 })
  weight?: number;
  @ApiPropertyOptional({ type: [IoLimitDto] })
  limits?: IoLimitDto[];
}

export class CpusetQuotaDto {
  @ApiPropertyOptional({ description: 'CPU list; returned normalised', example: '0-1' })
  cpus?: string;
  @ApiPropertyOptional({ description: 'memory node list', example: '0' })
  mems?: string;
}

export class NetworkQuotaDto {
  @ApiPropertyOptional({
    description: 'into the tenant: bits per second, or a string with bit/Kbit/Mbit/Gbit/Tbit, or "max". Returned in bits per second.',
    example: '100Mbit',
  })
  ingress?: number | string;
  @ApiPropertyOptional({ description: 'out of the tenant, as ingress', example: '50Mbit' })
  egress?: number | string;
  @ApiPropertyOptional({
    description:
      "whether the tenant may reach the world beyond this host (IP forwarding with masquerade through the host). Off unless true: by default a tenant reaches only its gateway's ICMP echo, never the host's services or another tenant.",
    example: false,
  })
  outside?: boolean;
}

export class FilesystemQuotaDto {
  @ApiPropertyOptional({
    description:
      'bytes (or Ki/Mi/Gi, K/M/G) of the one tmpfs behind /tmp, /var/tmp, /dev/shm and /run inside the tenant, charged to its memory cgroup; at least 1Mi; default 64Mi. Takes effect when the tenant init starts.',
    example: '64Mi',
  })
  tmpSize?: number | string;
  @ApiPropertyOptional({
    description:
      'bytes of the persistent home mounted at /home/tenant (an ext4 image under the data directory); at least 16Mi; default 256Mi; grows, never shrinks',
    example: '1Gi',
  })
  homeSize?: number | string;
}

export class WorkloadsQuotaDto {
  @ApiPropertyOptional({
    description: 'concurrent workloads (starting or running) per node, 1-10000; default 64. Past it, starting one answers 409',
    example: 64,
  })
  max?: number;
}

export class QuotaDto {
  @ApiPropertyOptional({ type: CpuQuotaDto })
  cpu?: CpuQuotaDto;
  @ApiPropertyOptional({ type: MemoryQuotaDto })
  memory?: MemoryQuotaDto;
  @ApiPropertyOptional({ type: PidsQuotaDto })
  pids?: PidsQuotaDto;
  @ApiPropertyOptional({ type: IoQuotaDto })
  io?: IoQuotaDto;
  @ApiPropertyOptional({ type: CpusetQuotaDto })
  cpuset?: CpusetQuotaDto;
  @ApiPropertyOptional({ type: NetworkQuotaDto })
  network?: NetworkQuotaDto;
  @ApiPropertyOptional({ type: FilesystemQuotaDto })
  filesystem?: FilesystemQuotaDto;
  @ApiPropertyOptional({ type: WorkloadsQuotaDto })
  workloads?: WorkloadsQuotaDto;
}
