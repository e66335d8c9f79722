import { Global, Module } from '@nestjs/common';
import { HostAccess } from './host.access';

@Global()
@Module({ providers: [HostAccess], exports: [HostAccess] })
export class HostModule {}
