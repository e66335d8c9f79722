import { Module } from '@nestjs/common';
import { UsageHistoryService } from './usage-history.service';

@Module({ providers: [UsageHistoryService], exports: [UsageHistoryService] })
export class UsageHistoryModule {}
