import type { ReconcilePriority } from './reconcile-queue';

/**
 * The tenant records a resync read in one go (one query for every tenant), handed to each tenant's resync
 * reconcile in place of reads of its own. A record is used at most once, and only by a reconcile taken off
 * the queue as resync work. A reconcile of the same tenant that ran, or still ran, after the read began (a
 * NOTIFY's, a requeue's) may have seen and written newer state than the record holds: the record is
 * dropped, and that tenant is read fresh. A reconcile taken as a change always reads fresh.
 */
export class ResyncRecords<T> {
  /** orders read starts and reconcile ends */
  private tick = 0;
  private readonly running = new Set<string>();
  private readonly endedAt = new Map<string, number>();
  private readonly records = new Map<string, T>();

  /** Call just before the query; hand what it returns to keep(). */
  readStarts(): number {
    this.tick += 1;
    return this.tick;
  }

  /** Keeps the records of a read that began at `readAt`, dropping those older than a reconcile of their tenant. */
  keep(readAt: number, records: ReadonlyMap<string, T>): void {
    this.records.clear();
    for (const [name, record] of records) {
      if (this.running.has(name) || (this.endedAt.get(name) ?? 0) > readAt) continue;
      this.records.set(name, record);
    }
  }

  /** A reconcile of `name` starts: the record to use instead of reading, if it may. */
  start(name: string, priority: ReconcilePriority): T | undefined {
    this.running.add(name);
    const record = this.records.get(name);
    this.records.delete(name);
    return priority === 'resync' ? record : undefined;
  }

  end(name: string): void {
    this.running.delete(name);
    this.tick += 1;
    this.endedAt.set(name, this.tick);
  }

  /** How many records wait for their reconcile. */
  get size(): number {
    return this.records.size;
  }
}
