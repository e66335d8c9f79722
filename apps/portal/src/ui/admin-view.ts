import type { Items, QuotaRequest } from '../api-types';
import { formatTime } from '../format';
import { describePatch } from '../quota';
import { AlertArea } from './alert-area';
import type { Api } from './api';
import { fill, h, uid } from './dom';

const REFRESH_EVERY_MS = 15_000;

/** The admin's page: quota requests with their plans, to approve or reject. */
export class AdminView {
  private readonly alerts = new AlertArea();
  private readonly filter = h(
    'select',
    { id: 'request-filter' },
    ...['pending', 'approved', 'rejected', 'withdrawn', 'all'].map((state) => h('option', { value: state }, state[0].toUpperCase() + state.slice(1))),
  );
  private readonly list = h('ol', { class: 'requests admin-requests' });
  private readonly empty = h('p', { class: 'hint' }, 'No requests.');
  readonly element: HTMLElement;
  private timer: number | undefined;

  constructor(private readonly api: Api) {
    const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
    refresh.addEventListener('click', () => void this.refresh());
    this.filter.addEventListener('change', () => void this.refresh());
    this.element = h(
      'div',
      { class: 'view admin-view' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'admin-heading' },
        h('h2', { id: 'admin-heading' }, 'Quota requests'),
        h('div', { class: 'inline-form' }, h('div', { class: 'field compact' }, h('label', { for: 'request-filter' }, 'Show'), this.filter), refresh),
        this.alerts.element,
        this.empty,
        this.list,
      ),
    );
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = window.setInterval(() => {
      // Never redraw under someone who is reading or typing a decision.
      if (!document.hidden && !this.list.contains(document.activeElement)) void this.refresh(false);
    }, REFRESH_EVERY_MS);
  }

  stop(): void {
    window.clearInterval(this.timer);
  }

  private async refresh(announce = true): Promise<void> {
    try {
      const state = this.filter.value === 'all' ? '' : `?state=${this.filter.value}`;
      const { items } = await this.api.get<Items<QuotaRequest>>(`/v1/quota-requests${state}`);
      this.empty.hidden = items.length > 0;
      fill(this.list, ...items.map((r) => this.item(r)));
      if (announce) this.alerts.clear();
    } catch (err) {
      this.alerts.error(err);
    }
  }

  private item(r: QuotaRequest): HTMLElement {
    const headingId = uid('request');
    const reasonId = uid('decision');
    const reason = h('textarea', { id: reasonId, rows: 2, maxlength: 1000 });
    const approve = h('button', { type: 'button' }, 'Approve');
    const reject = h('button', { type: 'button', class: 'danger' }, 'Reject');
    approve.addEventListener('click', () => void this.decide(r, 'approve', reason.value));
    reject.addEventListener('click', () => void this.decide(r, 'reject', reason.value));
    const asked = describePatch(r.quota);
    return h(
      'li',
      { class: 'request', 'data-request': r.id, 'data-state': r.state },
      h(
        'article',
        { 'aria-labelledby': headingId },
        h('h3', { id: headingId }, `${r.tenant}: ${asked.join(', ')}`),
        h('p', { class: 'request-head' }, h('span', { class: `badge state-${r.state}` }, r.state), ` asked ${formatTime(r.createdAt)}`),
        h('p', {}, 'Reason: ', r.reason),
        r.decidedAt
          ? h('p', {}, `Decided ${formatTime(r.decidedAt)}${r.decidedBy ? ` by ${r.decidedBy}` : ''}`, r.decisionReason ? `: ${r.decisionReason}` : '')
          : null,
        r.state === 'pending' ? this.plan(r) : null,
        r.state === 'pending'
          ? h(
              'div',
              { class: 'decision' },
              h('div', { class: 'field' }, h('label', { for: reasonId }, 'Reason (required to reject, optional to approve)'), reason),
              h('div', { class: 'buttons' }, approve, reject),
            )
          : null,
      ),
    );
  }

  private plan(r: QuotaRequest): HTMLElement {
    if (!r.plan) return h('p', { class: 'warning' }, `No plan: ${r.planError ?? 'the governor could not compute one'}`);
    return h(
      'div',
      { class: 'plan' },
      h('h4', {}, 'Plan: what approving writes now'),
      ...r.plan.nodes.map((node) =>
        h(
          'div',
          { class: 'plan-node' },
          h('p', {}, `Node ${node.node}`),
          node.writes.length === 0
            ? h('p', { class: 'hint' }, 'No file changes on this node.')
            : h(
                'div',
                { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': `Writes on node ${node.node}` },
                h(
                  'table',
                  {},
                  h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col' }, 'Now'), h('th', { scope: 'col' }, 'After'))),
                  h('tbody', {}, ...node.writes.map((w) => h('tr', {}, h('td', {}, h('code', {}, w.file)), h('td', {}, w.from ?? '—'), h('td', {}, w.to)))),
                ),
              ),
          node.warnings.length > 0 ? h('ul', { class: 'warnings' }, ...node.warnings.map((w) => h('li', {}, w))) : null,
        ),
      ),
    );
  }

  private async decide(r: QuotaRequest, action: 'approve' | 'reject', reason: string): Promise<void> {
    const text = reason.trim();
    try {
      const decided = await this.api.post<QuotaRequest>(`/v1/quota-requests/${encodeURIComponent(r.id)}/${action}`, text === '' ? {} : { reason: text });
      (document.activeElement as HTMLElement | null)?.blur();
      await this.refresh(false);
      this.alerts.done(`${action === 'approve' ? 'Approved' : 'Rejected'}: ${r.tenant}, ${describePatch(decided.quota).join(', ')}.`);
    } catch (err) {
      this.alerts.error(err);
    }
  }
}
