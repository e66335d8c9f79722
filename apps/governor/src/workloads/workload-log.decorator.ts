import { applyDecorators, Header } from '@nestjs/common';
import { ApiProduces, ApiQuery } from '@nestjs/swagger';
import { LOG_AFTER_DESCRIPTION } from './workload.request';

/**
 * What every route serving a workload's output declares: plain text, and the stream, tail and after query
 * parameters that parseLogQuery reads. One place, so the tenant's, the admin's and the agent's routes agree.
 */
export function WorkloadLogRoute(): MethodDecorator {
  return applyDecorators(
    Header('Content-Type', 'text/plain; charset=utf-8'),
    ApiProduces('text/plain'),
    ApiQuery({ name: 'stream', required: false, enum: ['stdout', 'stderr', 'both'] }),
    ApiQuery({ name: 'tail', required: false, description: 'lines, 1 to 10000, default 100' }),
    ApiQuery({ name: 'after', required: false, description: LOG_AFTER_DESCRIPTION }),
  );
}
