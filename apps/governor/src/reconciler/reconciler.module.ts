import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { ReconcilerService } from './reconciler.service';
import { TenantIsolation } from './tenant-isolation';

@Module({ imports: [NodesModule], providers: [ReconcilerService, TenantIsolation], exports: [ReconcilerService] })
export class ReconcilerModule {}
