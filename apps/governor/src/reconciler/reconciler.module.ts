import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { ReconcilerService } from './reconciler.service';

@Module({ imports: [NodesModule], providers: [ReconcilerService], exports: [ReconcilerService] })
export class ReconcilerModule {}
