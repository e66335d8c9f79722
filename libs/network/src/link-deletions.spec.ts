import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { describe, it } from 'node:test';
import { NativeError } from '../../native/src/native.error';
import type { NetlinkWrites } from '../../native/src/netlink.types';
import { LinkDeletions } from './link-deletions';

const { EBUSY, ENOMEM } = constants.errno;

/** The kernel side of deleteLinks: records each batch, answers from `links`, and holds a batch until released. */
class RecordedKernel implements Pick<NetlinkWrites, 'deleteLinks'> {
  readonly batches: { netnsPath: string | undefined; ifnames: string[] }[] = [];
  private release: (() => void) | undefined;
  held = false;

  constructor(
    private readonly links: Set<string>,
    private readonly refused: Map<string, number> = new Map(),
  ) {}

  /** The next batch waits in the kernel until release() */
  hold(): void {
    this.held = true;
  }

  releaseBatch(): void {
    this.held = false;
    this.release?.();
  }

  async deleteLinks(netnsPath: string | undefined, ifnames: readonly string[]): Promise<(NativeError | boolean)[]> {
    this.batches.push({ netnsPath, ifnames: [...ifnames] });
    if (this.held) await new Promise<void>((resolve) => (this.release = resolve));
    return ifnames.map((name) => {
      const errno = this.refused.get(name);
      if (errno !== undefined) return new NativeError('deleteLink', name, errno);
      return this.links.delete(name);
    });
  }
}

describe('link deletions gathered into kernel batches', () => {
  it('sends the links asked for in one turn of the event loop as one batch, and tells which existed', async () => {
    const kernel = new RecordedKernel(new Set(['gva', 'gvb', 'gvc']));
    const deletions = new LinkDeletions(kernel);
    const deleted = await Promise.all(['gva', 'gvb', 'gvnone', 'gvc'].map((name) => deletions.delete(undefined, name)));
    assert.deepEqual(deleted, [true, true, false, true]);
    assert.deepEqual(kernel.batches, [{ netnsPath: undefined, ifnames: ['gva', 'gvb', 'gvnone', 'gvc'] }]);
  });

  it('sends what is asked while a batch is with the kernel as the next batch, all of it together', async () => {
    const kernel = new RecordedKernel(new Set(['gv1', 'gv2', 'gv3', 'gv4']));
    const deletions = new LinkDeletions(kernel);
    kernel.hold();
    const first = deletions.delete(undefined, 'gv1');
    await new Promise((resolve) => setImmediate(resolve));
    const later = ['gv2', 'gv3', 'gv4'].map((name) => deletions.delete(undefined, name));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(kernel.batches.length, 1, 'nothing more is sent while the first batch is in the kernel');
    kernel.releaseBatch();
    assert.deepEqual(await Promise.all([first, ...later]), [true, true, true, true]);
    assert.deepEqual(
      kernel.batches.map((batch) => batch.ifnames),
      [['gv1'], ['gv2', 'gv3', 'gv4']],
    );
  });

  it("rejects only the request of a link the kernel refused, with that link's error", async () => {
    const kernel = new RecordedKernel(new Set(['gvok', 'gvstuck']), new Map([['gvstuck', EBUSY]]));
    const deletions = new LinkDeletions(kernel);
    const [ok, stuck] = await Promise.allSettled([deletions.delete(undefined, 'gvok'), deletions.delete(undefined, 'gvstuck')]);
    assert.deepEqual(ok, { status: 'fulfilled', value: true });
    assert.equal(stuck.status, 'rejected');
    assert.equal(stuck.status === 'rejected' && stuck.reason instanceof NativeError && stuck.reason.code, 'EBUSY');
  });

  it('rejects every request of a batch the library could not send, and still serves the next', async () => {
    let calls = 0;
    const deletions = new LinkDeletions({
      deleteLinks: (_netns, ifnames) => {
        calls++;
        if (calls === 1) return Promise.reject(new NativeError('deleteLinks', 'this network namespace', ENOMEM));
        return Promise.resolve(ifnames.map(() => true));
      },
    });
    const failed = await Promise.allSettled([deletions.delete(undefined, 'gvx'), deletions.delete(undefined, 'gvy')]);
    assert.deepEqual(
      failed.map((result) => result.status),
      ['rejected', 'rejected'],
    );
    assert.equal(await deletions.delete(undefined, 'gvz'), true);
  });

  it("keeps each namespace's links in a batch of their own", async () => {
    const kernel = new RecordedKernel(new Set(['gvhost', 'eth0']));
    const deletions = new LinkDeletions(kernel);
    assert.deepEqual(await Promise.all([deletions.delete(undefined, 'gvhost'), deletions.delete('/run/governor/ns/t/net', 'eth0')]), [true, true]);
    assert.deepEqual(
      kernel.batches.sort((a, b) => (a.netnsPath ?? '').localeCompare(b.netnsPath ?? '')),
      [
        { netnsPath: undefined, ifnames: ['gvhost'] },
        { netnsPath: '/run/governor/ns/t/net', ifnames: ['eth0'] },
      ],
    );
  });
});
