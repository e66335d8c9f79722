import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { LeaseRepository, type LeaseSession } from './lease.repository';

/**
 * Checks, inside the transaction of one action of a fleet-wide job, that this process still holds the
 * job's lease under the token it took; it throws LeaseLost otherwise, and the transaction rolls back.
 */
export type Fence = (tx: EntityManager) => Promise<void>;

export class LeaseLost extends Error {
  constructor(
    readonly job: string,
    readonly token: number,
    readonly current: number | undefined,
  ) {
    super(`the lease of ${job} was taken over (token ${token} held here, ${current ?? 'none'} now): another instance runs it`);
    this.name = 'LeaseLost';
  }
}

/**
 * Runs each fleet-wide job (retention, quarantine release) on one instance of the fleet at a time. The holder is
 * whichever process holds the job's advisory lock on a live session; taking it raises the job's fencing
 * token, and every action of the job checks that token in its own transaction. A holder whose session
 * ended (crash, network, pg_terminate_backend) has lost the lock, so another instance takes it with a new
 * token, and whatever the old one still tries fails its fence check: a deposed holder stops acting.
 */
@Injectable()
export class FleetLeases implements OnApplicationShutdown {
  private readonly logger = new Logger('leases');
  /** node, pid and a random part: two apps in one process (tests) are two holders */
  readonly holder: string;
  private session: LeaseSession | undefined;
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly leases: LeaseRepository,
    @Inject(GOVERNOR_CONFIG) config: GovernorConfig,
  ) {
    this.holder = `${config.nodeName}/${process.pid}/${randomBytes(3).toString('hex')}`;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.session?.close();
  }

  /** The token this process holds for the job, or undefined when it does not hold the job's lease. */
  tokenOf(job: string): number | undefined {
    return this.tokens.get(job);
  }

  /**
   * Runs `job` when this process holds (or can take) its lease; returns undefined when another instance
   * holds it, or when the lease was lost while the job ran (what was done before that stays done).
   */
  async run<T>(job: string, action: (fence: Fence) => Promise<T>): Promise<T | undefined> {
    const token = await this.take(job);
    if (token === undefined) return undefined;
    try {
      return await action(this.fence(job, token));
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      this.tokens.delete(job);
      this.logger.warn({ job, token, current: err.current }, `stopped ${job}: ${err.message}`);
      return undefined;
    }
  }

  /** The fence of `job` under `token`: its check fails once a takeover raised the token. */
  fence(job: string, token: number): Fence {
    return async (tx) => {
      const current = await this.leases.currentToken(tx, job);
      if (current !== token) throw new LeaseLost(job, token, current);
    };
  }

  private async take(job: string): Promise<number | undefined> {
    if (this.session === undefined || !this.session.open) {
      this.tokens.clear();
      this.session = await this.leases.openSession((err) => {
        // The locks went with the session: whatever this process held, another instance may take now.
        if (this.tokens.size > 0) this.logger.warn({ err, jobs: [...this.tokens.keys()] }, 'the lease session ended; its leases are lost');
        this.tokens.clear();
      });
    }
    const held = this.tokens.get(job);
    if (held !== undefined) return held;
    const token = await this.session.tryTake(job, this.holder);
    if (token !== undefined) {
      this.tokens.set(job, token);
      this.logger.log({ job, token, holder: this.holder }, `took the lease of ${job}`);
    }
    return token;
  }
}
