import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../../libs/domain/src/errors';
import { diskFullMessage, isDatabaseUnavailable } from './problem.filter';

const socketError = (code: string, syscall: string) => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

describe('telling "the database is not there" from other failures', () => {
  it('takes socket errors of the connection and PostgreSQL unavailability codes as the database being away', () => {
    assert.ok(isDatabaseUnavailable(socketError('ECONNREFUSED', 'connect')));
    assert.ok(isDatabaseUnavailable(socketError('ENOENT', 'connect')), "the embedded database's socket is gone");
    assert.ok(isDatabaseUnavailable(socketError('ECONNRESET', 'read')));
    assert.ok(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })));
    assert.ok(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect')));
    assert.ok(isDatabaseUnavailable({ message: 'query failed', driverError: socketError('ECONNRESET', 'read') }));
  });

  it('does not take a missing file, a bad query or a domain error for it', () => {
    const cgroupWrite = Object.assign(new Error('writing "\\n" to /sys/fs/cgroup/x/cpuset.cpus failed: ENOENT'), { code: 'ENOENT', file: 'cpuset.cpus' });
    assert.equal(isDatabaseUnavailable(cgroupWrite), false);
    assert.equal(isDatabaseUnavailable(socketError('ENOENT', 'open')), false);
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('syntax error'), { code: '42601' })), false);
    assert.equal(isDatabaseUnavailable(new ValidationError([{ path: 'x', message: 'bad' }])), false);
  });
});

describe('telling a full disk from other failures', () => {
  it("finds PostgreSQL's disk_full (53100) however TypeORM wrapped it, with the server's message", () => {
    const pg = Object.assign(new Error('could not extend file "base/16384/17196": No space left on device'), { code: '53100' });
    assert.equal(diskFullMessage(pg), 'could not extend file "base/16384/17196": No space left on device');
    assert.equal(diskFullMessage({ message: 'query failed', driverError: pg }), pg.message);
  });

  it('leaves every other error alone', () => {
    assert.equal(diskFullMessage(Object.assign(new Error('out of memory'), { code: '53200' })), undefined);
    assert.equal(diskFullMessage(new ValidationError([{ path: 'x', message: 'bad' }])), undefined);
    assert.equal(diskFullMessage('53100'), undefined);
  });
});
