import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_WORKLOADS_MAX } from '../../../../libs/domain/src/quota';
import type { WorkloadEntity } from '../../../../libs/persistence/src/entities/workload.entity';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { actorOf } from '../auth/principal';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { TenantsService } from '../tenants/tenants.service';
import { WorkloadException, WorkloadExceptionCode } from './workload.exception';
import { WorkloadHost } from './workload.host';
import type { LogQuery, StartWorkloadInput } from './workload.request';
import { WorkloadSupervisor } from './workload.supervisor';
import { WorkloadsRepository } from './workloads.repository';

/** How many of a tenant's workloads a list answers, newest first. */
const LIST_LIMIT = 500;

export interface WorkloadView {
  id: string;
  tenant: string;
  node: string;
  command: string[];
  envNames: string[];
  cwd: string;
  state: string;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  message: string | null;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** the namespaces its monitor put it in (kind and nsfs inode); empty before it started or when it could not */
  namespaces: Array<{ kind: string; inode: number }>;
}

/** The parts of its collaborators the API uses, so that a unit test hands it typed doubles. */
export type WorkloadRecords = Pick<WorkloadsRepository, 'admit' | 'recordAudit' | 'markFailed' | 'get' | 'findOfTenant' | 'listOfTenant'>;
export type WorkloadTenants = Pick<TenantsService, 'get' | 'getAccepting'>;
export type ApiHost = Pick<WorkloadHost, 'tenantReady' | 'launch' | 'requireMonitors' | 'namespaces' | 'tailLog' | 'readLogAfter'>;
export type Supervision = Pick<WorkloadSupervisor, 'holdOff' | 'release' | 'changed' | 'sync' | 'terminate' | 'reap'>;

/**
 * The workload API of this node: start (admission under `workloads.max`, launch through a monitor that outlives
 * the governor), list, get, logs and stop, each audited where it acts. What a workload's state is, is the
 * supervisor's to find out: a read syncs through it.
 */
@Injectable()
export class WorkloadsService {
  constructor(
    @Inject(WorkloadsRepository) private readonly repository: WorkloadRecords,
    @Inject(TenantsService) private readonly tenants: WorkloadTenants,
    @Inject(WorkloadHost) private readonly host: ApiHost,
    @Inject(WorkloadSupervisor) private readonly supervisor: Supervision,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  async start(tenantName: string, input: StartWorkloadInput, actor: Actor): Promise<WorkloadView> {
    const tenant = await this.tenants.getAccepting(tenantName, 'new workloads');
    if (!this.host.tenantReady(tenantName)) {
      throw new WorkloadException(
        WorkloadExceptionCode.TENANT_NOT_READY,
        `tenant ${tenantName} is not set up on this node yet (cgroup, namespaces and init); retry once its status is Ready`,
      );
    }
    const id = randomBytes(9)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0')
      .slice(0, 12);
    this.supervisor.holdOff(id);
    try {
      const max = tenant.quota.workloads?.max ?? DEFAULT_WORKLOADS_MAX;
      const admission = await this.repository.admit(
        {
          id,
          tenantId: tenant.id,
          node: this.config.nodeName,
          command: input.command,
          envNames: Object.keys(input.env).sort(),
          cwd: input.cwd,
          quota: input.quota,
          createdBy: actorOf(actor.principal),
        },
        max,
      );
      if (!admission.admitted) {
        throw new WorkloadException(
          WorkloadExceptionCode.TOO_MANY,
          `tenant ${tenantName} runs ${admission.active} workloads on node ${this.config.nodeName}, its maximum (quota workloads.max ${max}${tenant.quota.workloads?.max === undefined ? ', the default' : ''}); stop one first`,
        );
      }
      await this.repository.recordAudit({
        actor: actor.principal,
        action: 'workload.start',
        target: `tenants/${tenantName}/workloads/${id}`,
        requestId: actor.requestId,
        detail: { command: input.command },
      });
      this.supervisor.changed();
      try {
        await this.host.launch(tenantName, id, input);
      } catch (err) {
        await this.repository.markFailed(id, err instanceof Error ? err.message : String(err));
        await this.supervisor.reap(tenantName, id);
        return this.view(tenantName, await this.repository.get(id));
      }
      this.supervisor.release(id);
      return this.view(tenantName, await this.supervisor.sync(tenantName, admission.row));
    } finally {
      this.supervisor.release(id);
    }
  }

  async list(tenantName: string): Promise<WorkloadView[]> {
    const tenant = await this.tenants.get(tenantName);
    const rows = await this.repository.listOfTenant(tenant.id, LIST_LIMIT);
    return Promise.all(rows.map(async (row) => this.view(tenantName, await this.supervisor.sync(tenantName, row))));
  }

  async get(tenantName: string, id: string): Promise<WorkloadView> {
    return this.view(tenantName, await this.supervisor.sync(tenantName, await this.find(tenantName, id)));
  }

  /** The last lines of one or both streams, or what one stream got after a cursor; with one stream, the cursor to follow it. */
  async logs(tenantName: string, id: string, query: LogQuery): Promise<{ text: string; cursor?: string }> {
    await this.find(tenantName, id);
    if (query.after !== undefined) return this.host.readLogAfter(id, query.streams[0], query.after);
    const parts = await Promise.all(query.streams.map((stream) => this.host.tailLog(id, stream, query.lines)));
    return parts.length === 1 ? parts[0] : { text: `==> stdout <==\n${parts[0].text}==> stderr <==\n${parts[1].text}` };
  }

  /**
   * SIGTERM now, through the workload's monitor (which holds a pidfd of it), and cgroup.kill of its leaf once the
   * grace period is over if it still runs (the supervisor's). A workload of another node is refused: its pid and
   * cgroup mean nothing here.
   */
  async stop(tenantName: string, id: string, graceMs: number, actor: Actor): Promise<WorkloadView> {
    const found = await this.find(tenantName, id);
    if (found.node !== this.config.nodeName) {
      throw new WorkloadException(
        WorkloadExceptionCode.ON_OTHER_NODE,
        `workload ${id} runs on node ${found.node}, and this governor is node ${this.config.nodeName}: a governor stops only the workloads of its own node; send the request to the governor of node ${found.node}`,
      );
    }
    this.host.requireMonitors();
    const row = await this.supervisor.sync(tenantName, found);
    await this.repository.recordAudit({
      actor: actor.principal,
      action: 'workload.stop',
      target: `tenants/${tenantName}/workloads/${id}`,
      requestId: actor.requestId,
      detail: { graceMs },
    });
    await this.supervisor.terminate(tenantName, row, graceMs);
    return this.view(tenantName, row);
  }

  private async find(tenantName: string, id: string): Promise<WorkloadEntity> {
    const tenant = await this.tenants.get(tenantName);
    const row = /^[a-z0-9]{12}$/.test(id) ? await this.repository.findOfTenant(tenant.id, id) : undefined;
    if (!row) throw new WorkloadException(WorkloadExceptionCode.NOT_FOUND, `tenant ${tenantName} has no workload ${JSON.stringify(id)}`);
    return row;
  }

  private async view(tenant: string, row: WorkloadEntity): Promise<WorkloadView> {
    return {
      id: row.id,
      tenant,
      node: row.node,
      command: row.command,
      envNames: row.envNames,
      cwd: row.cwd,
      state: row.state,
      pid: row.pid,
      exitCode: row.exitCode,
      signal: row.signal,
      message: row.message,
      createdBy: row.createdBy,
      createdAt: row.createdAt.toISOString(),
      startedAt: row.startedAt?.toISOString() ?? null,
      finishedAt: row.finishedAt?.toISOString() ?? null,
      namespaces: row.node === this.config.nodeName ? await this.host.namespaces(row.id) : [],
    };
  }
}
