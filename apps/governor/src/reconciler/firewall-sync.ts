import { type FirewallOutcome, type FirewallTenant, tenantsInDrift } from '../../../../libs/network/src';

/** The one nftables table, as the sync needs it: TenantFirewall on the host, a typed fake in unit tests. */
export interface FirewallTable {
  ensure(tenants: readonly FirewallTenant[]): Promise<FirewallOutcome>;
}

/** Where the sync says what it did: the log, the drift counter and readiness in the service. */
export interface FirewallReport {
  applied(outcome: FirewallOutcome, tenants: readonly FirewallTenant[], drifted: readonly string[]): Promise<void>;
  failed(message: string | undefined): void;
}

/** A tenant's link may not go up: the table that would filter it could not be applied. */
export class FirewallNotAppliedError extends Error {
  constructor(
    readonly tenant: string,
    readonly reason: string,
  ) {
    super(`the firewall does not cover ${tenant} yet, so its link stays down: ${reason}`);
    this.name = 'FirewallNotAppliedError';
  }
}

const key = (entry: FirewallTenant): string => JSON.stringify(entry);

/**
 * The firewall of every tenant on this host, one table, applied as one transaction whenever the tenants it
 * covers changed. Tenants are reconciled concurrently, so applies are coalesced: a request made while one
 * runs is served by one more apply after it, which takes every entry set by then. A reconcile that is about
 * to bring a link up waits for a table that covers that link (`cover`).
 */
export class FirewallSync {
  private readonly desired = new Map<string, FirewallTenant>();
  /** each tenant's entry as it was in the last table applied */
  private readonly applied = new Map<string, string>();
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly table: FirewallTable,
    private readonly report: FirewallReport,
  ) {}

  /** Sets a tenant's entry; true when the table applied last does not have it in this form. */
  set(name: string, entry: FirewallTenant): boolean {
    this.desired.set(name, entry);
    return !this.covers(name);
  }

  /** Drops a tenant's entry; true when the table applied last still has it. */
  delete(name: string): boolean {
    this.desired.delete(name);
    return this.applied.has(name);
  }

  entry(name: string): FirewallTenant | undefined {
    return this.desired.get(name);
  }

  get tenants(): ReadonlyMap<string, FirewallTenant> {
    return this.desired;
  }

  /** Whether the table applied last filters this tenant's link as its entry says. */
  covers(name: string): boolean {
    const entry = this.desired.get(name);
    return entry !== undefined && this.applied.get(name) === key(entry);
  }

  /** Resolves once a table that filters this tenant's link is in the kernel; throws when none could be applied. */
  async cover(name: string): Promise<void> {
    if (this.covers(name)) return;
    await this.sync().catch(() => undefined);
    if (!this.covers(name)) throw new FirewallNotAppliedError(name, this.lastError ?? 'the tenant has no firewall entry');
  }

  /** Applies the table with every entry set so far (and compares it by content when nothing changed). */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const after = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    this.queued = after;
    return after;
  }

  private start(): Promise<void> {
    const run = this.apply().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async apply(): Promise<void> {
    const snapshot = new Map([...this.desired].map(([name, entry]) => [name, entry]));
    const tenants = [...snapshot.values()];
    try {
      const outcome = await this.table.ensure(tenants);
      this.applied.clear();
      for (const [name, entry] of snapshot) this.applied.set(name, key(entry));
      this.lastError = undefined;
      await this.report.applied(outcome, tenants, tenantsInDrift(outcome.drift, snapshot));
      this.report.failed(undefined);
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.report.failed(this.lastError);
      throw err;
    }
  }
}
