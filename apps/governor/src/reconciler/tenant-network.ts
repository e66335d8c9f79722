import { Injectable } from '@nestjs/common';
import type { NetworkQuota } from '../../../../libs/domain/src/quota.types';
import { applyTenantNetwork, type TenantAddressing, type TenantNetworkResult } from '../../../../libs/network/src';
import { HostAccess } from '../host/host.access';

/** What may run between the link's making and its going up (the firewall entry is put in the table there). */
export type TenantLinkHooks = NonNullable<Parameters<typeof applyTenantNetwork>[5]>;

/**
 * A tenant's user and network namespaces, veth, addresses and bandwidth on this host (libs/network), behind
 * one injectable so that the reconcile that orders them gets unit tests without a host. Throws when the
 * host's namespaces are unavailable (the reason is the host's setup failure, also in /readyz).
 */
@Injectable()
export class TenantNetwork {
  constructor(private readonly host: HostAccess) {}

  apply(tenant: string, tenantId: string, addressing: TenantAddressing, quota: NetworkQuota | undefined, hooks: TenantLinkHooks): Promise<TenantNetworkResult> {
    return applyTenantNetwork(this.host.namespaces(), tenant, tenantId, addressing, quota, hooks);
  }
}
