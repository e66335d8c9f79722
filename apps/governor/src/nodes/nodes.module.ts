import { Module } from '@nestjs/common';
import { HostCpus } from './host-cpus';
import { NodesService } from './nodes.service';

@Module({ providers: [NodesService, { provide: HostCpus, useValue: new HostCpus() }], exports: [NodesService] })
export class NodesModule {}
