import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { AdmissionRefused } from './admission.exception';
import { AdmissionRepository } from './admission.repository';
import { admit, hasGuarantee, type Placement, type ResourceAdmission, targetsOf } from './admission.rules';

/** What the plan shows of admission: each guaranteed resource on each target node, and whether the change would pass. */
export interface AdmissionView {
  admitted: boolean;
  resources: ResourceAdmission[];
}

@Injectable()
export class AdmissionService {
  constructor(
    private readonly repository: AdmissionRepository,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /**
   * Refuses (409) a placement whose guarantees do not fit its nodes. Call it inside the transaction that
   * saves the change: it holds the target nodes' locks until that transaction ends. `tenantId` is null
   * for a tenant not saved yet.
   */
  async enforce(tx: EntityManager, tenantId: string | null, before: Placement | null, next: Placement): Promise<void> {
    const view = await this.evaluate(tx, tenantId, before, next, true);
    if (!view.admitted) throw new AdmissionRefused(view.resources.filter((resource) => !resource.admitted));
  }

  /** The admission of a change without refusing it (the plan), and without locks unless `lock`. */
  async evaluate(tx: EntityManager, tenantId: string | null, before: Placement | null, next: Placement, lock = false): Promise<AdmissionView> {
    if (!hasGuarantee(next.quota)) return { admitted: true, resources: [] };
    const fleet = await this.repository.capacities(tx);
    if (lock)
      await this.repository.lockNodes(
        tx,
        targetsOf(
          next,
          fleet.map((node) => node.name),
        ),
      );
    const resources = admit({ before, next, others: await this.repository.placements(tx, tenantId), fleet, overcommit: this.config.overcommit });
    return { admitted: resources.every((resource) => resource.admitted), resources };
  }
}
