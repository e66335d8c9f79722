import { NativeError } from '../../native/src/native.error';
import type { NetlinkWrites } from '../../native/src/netlink.types';

interface Request {
  ifname: string;
  resolve: (deleted: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Link deletions gathered into kernel batches. A link deleted alone makes the kernel wait for RCU grace periods
 * and an rcu_barrier() under (and right after) the rtnl lock, so 100 tenants removed together used to queue
 * for about a second; NetlinkWrites.deleteLinks pays that wait once for a whole batch. Requests made in the
 * same turn of the event loop go as one batch; those that come while a batch is with the kernel go together
 * as the next. Each namespace has its own queue.
 */
export class LinkDeletions {
  private readonly queues = new Map<string, Request[]>();
  private readonly draining = new Set<string>();

  constructor(private readonly writes: Pick<NetlinkWrites, 'deleteLinks'>) {}

  /** Deletes the link (a veth's other end goes with it): true when it was deleted, false when there was none. */
  delete(netnsPath: string | undefined, ifname: string): Promise<boolean> {
    const key = netnsPath ?? '';
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      queue.push({ ifname, resolve, reject });
      this.queues.set(key, queue);
      if (!this.draining.has(key)) {
        this.draining.add(key);
        setImmediate(() => void this.drain(netnsPath, key));
      }
    });
  }

  private async drain(netnsPath: string | undefined, key: string): Promise<void> {
    for (let batch = this.take(key); batch.length > 0; batch = this.take(key)) {
      try {
        const results = await this.writes.deleteLinks(
          netnsPath,
          batch.map((request) => request.ifname),
        );
        for (const [i, request] of batch.entries()) {
          const result = results[i];
          if (result instanceof NativeError) request.reject(result);
          else request.resolve(result);
        }
      } catch (err) {
        for (const request of batch) request.reject(err);
      }
    }
    this.draining.delete(key);
  }

  private take(key: string): Request[] {
    const batch = this.queues.get(key) ?? [];
    this.queues.delete(key);
    return batch;
  }
}
