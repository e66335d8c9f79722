import type { Items, Tenant, TenantEvent, Usage } from '../api-types';
import { describePatch } from '../quota';
import type { Api } from './api';
import { fill, h } from './dom';
import { EventsPanel } from './events-panel';
import { RequestsPanel } from './requests-panel';
import { UsagePanel } from './usage-panel';
import { WorkloadsPanel } from './workloads-panel';

const USAGE_EVERY_MS = 2_000;
/** Everything but usage changes rarely: every third poll is enough. */
const SLOW_EVERY = 3;

/** The tenant's page: who it is, its quota, live usage, events, workloads and quota requests. */
export class TenantView {
  private readonly title = h('span', { class: 'tenant-name' });
  private readonly phase = h('p', { class: 'phase' });
  private readonly conditions = h('ul', { class: 'conditions' });
  private readonly quota = h('dl', { class: 'facts quota' });
  private readonly usage = new UsagePanel();
  private readonly events = new EventsPanel();
  private readonly workloads: WorkloadsPanel;
  private readonly requests: RequestsPanel;
  readonly element: HTMLElement;
  private timer: number | undefined;
  private tick = 0;
  private polling = false;
  private readonly onVisibility = () => (document.hidden ? this.pause() : this.resume());

  constructor(private readonly api: Api) {
    this.workloads = new WorkloadsPanel(api, () => void this.slow());
    this.requests = new RequestsPanel(api, () => void this.slow());
    this.element = h(
      'div',
      { class: 'view tenant-view' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'tenant-heading' },
        h('h2', { id: 'tenant-heading' }, 'Tenant ', this.title),
        this.phase,
        this.conditions,
        h('h3', {}, 'Quota'),
        this.quota,
      ),
      this.usage.element,
      this.events.element,
      this.workloads.element,
      this.requests.element,
    );
  }

  async start(): Promise<void> {
    document.addEventListener('visibilitychange', this.onVisibility);
    this.resume();
    await this.poll();
  }

  stop(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.pause();
  }

  private resume(): void {
    if (this.timer !== undefined || document.hidden) return;
    this.timer = window.setInterval(() => void this.poll(), USAGE_EVERY_MS);
    void this.poll();
  }

  private pause(): void {
    window.clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const slow = this.tick++ % SLOW_EVERY === 0 ? this.slow() : Promise.resolve();
      await Promise.all([this.refreshUsage(), slow]);
    } finally {
      this.polling = false;
    }
  }

  private async refreshUsage(): Promise<void> {
    try {
      this.usage.show(await this.api.get<Usage>('/v1/me/usage'));
      this.usage.alerts.clear();
    } catch (err) {
      this.usage.alerts.error(err);
    }
  }

  /** The tenant, its events, workloads and requests. */
  private async slow(): Promise<void> {
    await Promise.all([
      this.api.get<Tenant>('/v1/me').then(
        (tenant) => this.showTenant(tenant),
        (err: unknown) => this.usage.alerts.error(err),
      ),
      this.api.get<Items<TenantEvent>>('/v1/me/events?limit=20').then(
        (events) => {
          this.events.show(events.items);
          this.events.alerts.clear();
        },
        (err: unknown) => this.events.alerts.error(err),
      ),
      this.workloads.refresh().catch((err: unknown) => this.workloads.alerts.error(err)),
      this.requests.refresh().catch((err: unknown) => this.requests.alerts.error(err)),
    ]);
  }

  private showTenant(tenant: Tenant): void {
    this.title.textContent = tenant.displayName ? `${tenant.displayName} (${tenant.name})` : tenant.name;
    const problems = tenant.status.conditions.filter((c) => (c.type === 'Degraded' ? c.status === 'True' : c.status === 'False'));
    fill(
      this.phase,
      h('span', { class: `badge phase-${tenant.status.phase}` }, tenant.status.phase),
      tenant.suspended ? ' Suspended: every process is frozen.' : '',
      tenant.status.network ? ` Address ${tenant.status.network.address}.` : '',
    );
    fill(this.conditions, ...problems.map((c) => h('li', {}, `${c.type}: ${c.message}`)));
    this.conditions.hidden = problems.length === 0;
    const lines = describePatch(tenant.quota).map((line) => line.split(' → '));
    fill(
      this.quota,
      ...(lines.length === 0 ? [h('dt', {}, 'Quota'), h('dd', {}, 'none set: kernel defaults, no limits')] : []),
      ...lines.flatMap(([path, value]) => [h('dt', {}, path), h('dd', { 'data-quota': path }, value)]),
    );
    this.usage.setQuota(tenant.quota);
    this.requests.setQuota(tenant.quota);
  }
}
