import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { FileChange } from '../../../../libs/cgroup/src/tenant-apply';
import { checkAttachable } from '../../../../libs/cgroup/src/processes';
import { readLimit } from '../../../../libs/cgroup/src/target';
import { attachedDir, tenantDir } from '../../../../libs/cgroup/src/layout';
import type { TenantUsage } from '../../../../libs/cgroup/src/usage';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { AuditService } from '../audit/audit.service';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import { TenantsService } from '../tenants/tenants.service';
import { HostAccess } from './host.access';
import { HostException, HostExceptionCode } from './host.exception';
import { AdmissionService, type AdmissionView } from '../admission/admission.service';

export interface NodePlan {
  node: string;
  writes: FileChange[];
  warnings: string[];
  /** role api: the node's agent did not answer (NotReady, unreachable); its warning says why */
  unavailable?: boolean;
}

export interface TenantPlan {
  quota: unknown;
  /** whether the change fits the capacity of its nodes (a PATCH that does not is a 409), with the numbers */
  admission: AdmissionView;
  nodes: NodePlan[];
}

/** The tenant endpoints that act on this host's kernel: plan, attach. */
@Injectable()
export class TenantHostService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly host: HostAccess,
    private readonly audit: AuditService,
    private readonly admission: AdmissionService,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** A dry run of a merge patch: per node, the files and values it would write, with warnings. */
  async plan(name: string, body: unknown): Promise<TenantPlan> {
    const { tenant, next } = await this.tenants.preview(name, body);
    const admission = await this.admission.evaluate(this.db.manager, tenant.id, { quota: tenant.quota, nodes: tenant.nodes }, next);
    const driver = this.host.cgroups();
    const result = await driver.planTenant(name, next.quota);
    const warnings = result.conditions.map((c) => c.message);
    const max = next.quota.memory?.max;
    if (typeof max === 'number' && driver.capabilities.features.memoryPeak) {
      const peak = readLimit((await driver.fs.read(tenantDir(name), 'memory.peak')) ?? '');
      if (typeof peak === 'number' && peak > max)
        warnings.push(`memory.max ${max} is below the peak usage so far (${peak}); the tenant has needed more before`);
    }
    if (!driver.hasTenant(name)) warnings.push('the tenant has no cgroup on this node yet; the plan starts from kernel defaults');
    return { quota: next.quota, admission, nodes: [{ node: this.config.nodeName, writes: result.changes, warnings }] };
  }

  /** Live usage of the tenant on this node. */
  async usage(name: string): Promise<{ node: string; usage: TenantUsage }> {
    return this.usageOf(await this.tenants.get(name));
  }

  /** Live usage of a tenant already looked up. */
  async usageOf({ name }: TenantEntity): Promise<{ node: string; usage: TenantUsage }> {
    const driver = this.host.cgroups();
    if (!driver.hasTenant(name)) throw new HostException(HostExceptionCode.NOT_APPLIED, `tenant ${name} has no cgroup on this node yet`);
    return { node: this.config.nodeName, usage: await driver.usage(name) };
  }

  /** Moves an existing process into the tenant's `attached` leaf. Only its cgroup changes, not its namespaces. */
  async attach(name: string, pid: number, actor: Actor): Promise<{ pid: number; cgroup: string }> {
    const tenant = await this.tenants.get(name);
    const check = checkAttachable(pid);
    if (!check.ok) {
      throw new HostException(check.reason === 'missing' ? HostExceptionCode.PROCESS_NOT_FOUND : HostExceptionCode.PROCESS_REFUSED, check.message);
    }
    const driver = this.host.cgroups();
    if (!driver.hasTenant(name)) {
      throw new HostException(
        HostExceptionCode.NOT_APPLIED,
        `tenant ${name} has no cgroup on this node yet; retry once its status shows observedGeneration ${tenant.generation}`,
      );
    }
    await driver.attach(name, pid);
    await this.db.transaction((tx) =>
      this.audit.record(tx, {
        actor: actor.principal,
        action: 'tenant.attach',
        target: `tenants/${name}`,
        requestId: actor.requestId,
        detail: { tenantId: tenant.id, pid },
      }),
    );
    return { pid, cgroup: driver.fs.absolute(attachedDir(name)) };
  }
}
