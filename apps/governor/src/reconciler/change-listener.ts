import { Logger } from '@nestjs/common';
import { Client } from 'pg';

export interface ChangeHandlers {
  /** a tenant's desired state changed */
  changed(tenant: string): void;
  /** (re)connected: notifications may have been missed, so everything is resynced */
  connected(): void;
}

export interface ListenerBackoff {
  firstMs: number;
  maxMs: number;
}

// At most 10 s: after an outage, LISTEN (and the resync that follows it) is back within seconds of PostgreSQL.
const BACKOFF: ListenerBackoff = { firstMs: 1000, maxMs: 10_000 };

/**
 * LISTEN governor_changes on a connection of its own, reconnecting with backoff. A notification is only
 * a hint: the periodic resync and the resync after each reconnect are what make the loop correct.
 */
export class ChangeListener {
  private readonly logger = new Logger('listener');
  private client: Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly handlers: ChangeHandlers,
    private readonly backoff: ListenerBackoff = BACKOFF,
  ) {}

  start(): void {
    void this.connect(this.backoff.firstMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(backoffMs: number): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.url, application_name: 'governor-listener' });
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload) this.handlers.changed(message.payload);
    });
    client.on('error', (err) => this.logger.warn({ err }, 'listener connection failed'));
    // Only a connection that was up starts over at the first delay; a failed attempt's own end event must
    // not, or the backoff never grows (one warning a second for as long as PostgreSQL is away).
    client.on('end', () => {
      if (this.client !== client) return;
      this.client = undefined;
      if (!this.stopped) this.scheduleReconnect(this.backoff.firstMs);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.client = client;
      this.handlers.connected();
    } catch (err) {
      this.logger.warn({ err }, `cannot LISTEN ${this.channel}; retrying in ${backoffMs}ms`);
      await client.end().catch(() => undefined);
      this.scheduleReconnect(backoffMs);
    }
  }

  /** The delays of the reconnects scheduled so far, for tests. */
  readonly delays: number[] = [];

  private scheduleReconnect(backoffMs: number): void {
    if (this.stopped || this.retry !== undefined) return;
    this.delays.push(backoffMs);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect(Math.min(backoffMs * 2, this.backoff.maxMs));
    }, backoffMs);
    this.retry.unref();
  }
}
