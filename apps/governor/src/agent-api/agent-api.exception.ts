import { CodedError } from '../../../../libs/domain/src/errors';

export enum AgentApiExceptionCode {
  NOT_ON_THIS_NODE = 'workload-not-on-this-node',
  NO_ACTING_PRINCIPAL = 'no-acting-principal',
}

const STATUS: Record<AgentApiExceptionCode, number> = {
  [AgentApiExceptionCode.NOT_ON_THIS_NODE]: 404,
  [AgentApiExceptionCode.NO_ACTING_PRINCIPAL]: 400,
};

export class AgentApiException extends CodedError<AgentApiExceptionCode> {
  constructor(code: AgentApiExceptionCode, message: string) {
    super(code, STATUS, message);
  }
}
