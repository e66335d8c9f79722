import { CodedError } from '../../../../libs/domain/src/errors';

export enum WorkloadExceptionCode {
  NOT_FOUND = 'workload-not-found',
  TENANT_NOT_READY = 'workload-tenant-not-ready',
  TOO_MANY = 'workload-too-many',
  ON_OTHER_NODE = 'workload-on-other-node',
}

const STATUS: Record<WorkloadExceptionCode, number> = {
  [WorkloadExceptionCode.NOT_FOUND]: 404,
  [WorkloadExceptionCode.TENANT_NOT_READY]: 409,
  [WorkloadExceptionCode.TOO_MANY]: 409,
  [WorkloadExceptionCode.ON_OTHER_NODE]: 409,
};

export class WorkloadException extends CodedError<WorkloadExceptionCode> {
  constructor(code: WorkloadExceptionCode, message: string) {
    super(code, STATUS, message);
  }
}
