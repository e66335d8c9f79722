import { DomainError } from '../../../../libs/domain/src/errors';
import { describeRefusal, type ResourceAdmission } from './admission.rules';

/** A change that would put more guaranteed resources on a node than it has: 409, with every number. */
export class AdmissionRefused extends DomainError {
  readonly status = 409;
  readonly code = 'admission-refused';

  constructor(readonly refusals: ResourceAdmission[]) {
    super(
      `the guaranteed resources placed on ${refusals.length === 1 ? 'a node' : 'nodes'} would exceed capacity: ${refusals.map(describeRefusal).join('; ')}. ` +
        'Lower memory.min or the cpuset, place the tenant on other nodes, or allow overcommit with GOVERNOR_OVERCOMMIT',
      refusals.map((refusal) => ({
        path: refusal.resource === 'memory.min' ? 'quota.memory.min' : 'quota.cpuset.cpus',
        message: describeRefusal(refusal),
      })),
    );
  }
}
