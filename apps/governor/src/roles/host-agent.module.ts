import { Module } from '@nestjs/common';
import { ReconcilerModule } from '../reconciler/reconciler.module';
import { UsageHistoryModule } from '../usage-history/usage-history.module';
import { WorkloadsModule } from '../workloads/workloads.module';

/**
 * What acts on this host: the reconciler, the workload supervisor and the usage sampler (its OOM and
 * throttling events). Roles agent and all load it; role api never does.
 */
@Module({ imports: [ReconcilerModule, WorkloadsModule, UsageHistoryModule] })
export class HostAgentModule {}
