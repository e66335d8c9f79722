import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, ExitCode, formatProblem, toProblem } from './cli.errors';

describe('API errors', () => {
  it('prints the detail and each bad field of a problem, with the request id', () => {
    const lines = formatProblem({
      status: 400,
      title: 'Bad Request',
      detail: 'the request is invalid',
      errors: [{ path: 'quota.memory.max', message: 'must be a size' }],
      requestId: 'r-1',
    });
    assert.deepEqual(lines, ['error: 400 Bad Request: the request is invalid', '  quota.memory.max: must be a size', '  request id: r-1']);
  });

  it('maps 404 to exit 4, 409 and 412 to exit 5 and the rest to exit 1', () => {
    assert.equal(new ApiError({ status: 404 }).exitCode, ExitCode.NOT_FOUND);
    assert.equal(new ApiError({ status: 409 }).exitCode, ExitCode.CONFLICT);
    assert.equal(new ApiError({ status: 412 }).exitCode, ExitCode.CONFLICT);
    assert.equal(new ApiError({ status: 403 }).exitCode, ExitCode.API_ERROR);
  });

  it('reads a body that is not JSON as a problem with its first line', () => {
    assert.deepEqual(toProblem(502, 'Bad Gateway', '<html>upstream down</html>\n<p>'), {
      status: 502,
      title: 'Bad Gateway',
      detail: '<html>upstream down</html>',
    });
  });
});
