import { ApiProperty } from '@nestjs/swagger';

/** A workload as the API answers it (WorkloadsService's WorkloadView), for the OpenAPI document. */
export class WorkloadDto {
  @ApiProperty({ example: 'k3x9q2m8a1zd' }) id!: string;
  @ApiProperty() tenant!: string;
  @ApiProperty({ description: 'the node it runs on' }) node!: string;
  @ApiProperty({ type: [String] }) command!: string[];
  @ApiProperty({ type: [String], description: 'the names of its environment variables (never their values)' }) envNames!: string[];
  @ApiProperty() cwd!: string;
  @ApiProperty({
    enum: ['starting', 'running', 'exited', 'killed', 'oom-killed', 'failed', 'lost', 'unknown'],
    description: 'unknown: it was last seen starting or running on a node that is NotReady now (role api); known again once the node is back',
  })
  state!: string;
  @ApiProperty({ type: 'integer', nullable: true }) pid!: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) exitCode!: number | null;
  @ApiProperty({ type: String, nullable: true, example: 'SIGTERM' }) signal!: string | null;
  @ApiProperty({ type: String, nullable: true }) message!: string | null;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) startedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) finishedAt!: string | null;
}

export class WorkloadListDto {
  @ApiProperty({ type: [WorkloadDto] }) items!: WorkloadDto[];
}
