import type { Items, Quota, QuotaRequest } from '../api-types';
import { formatBitsPerSecond, formatBytes, formatCores, formatLimit, formatTime } from '../format';
import { describePatch, quotaPatch, type QuotaRequestFields } from '../quota';
import { AlertArea } from './alert-area';
import type { Api } from './api';
import { field, fill, h, uid } from './dom';

type FieldName = keyof QuotaRequestFields;

const FIELDS: Array<{ name: FieldName; label: string; example: string; now: (q: Quota) => string }> = [
  { name: 'cpuMax', label: 'CPU (cores)', example: '1.5', now: (q) => formatLimit(q.cpu?.max, formatCores) },
  { name: 'memoryMax', label: 'Memory limit (memory.max)', example: '512Mi', now: (q) => formatLimit(q.memory?.max, formatBytes) },
  { name: 'memoryHigh', label: 'Memory high mark (memory.high)', example: '480Mi', now: (q) => formatLimit(q.memory?.high, formatBytes) },
  { name: 'pidsMax', label: 'Processes (pids.max)', example: '256', now: (q) => formatLimit(q.pids?.max, String) },
  { name: 'ingress', label: 'Network in (ingress)', example: '100Mbit', now: (q) => formatLimit(q.network?.ingress, formatBitsPerSecond) },
  { name: 'egress', label: 'Network out (egress)', example: '50Mbit', now: (q) => formatLimit(q.network?.egress, formatBitsPerSecond) },
];

/** The request form, and the earlier requests with their state and the admin's answer. */
export class RequestsPanel {
  readonly alerts = new AlertArea();
  private readonly inputs = FIELDS.map((f) => ({ ...f, ...field(f.label, { name: f.name, placeholder: `e.g. ${f.example}` }, 'now: not set') }));
  private readonly reasonId = uid('reason');
  private readonly reason = h('textarea', { id: this.reasonId, name: 'reason', rows: 2, maxlength: 1000, required: true });
  private readonly list = h('ol', { class: 'requests' });
  private readonly empty = h('p', { class: 'hint' }, 'No requests yet.');
  readonly element: HTMLElement;

  constructor(
    private readonly api: Api,
    private readonly onChange: () => void,
  ) {
    const form = h(
      'form',
      { class: 'request-form', 'aria-labelledby': 'request-heading' },
      h('h3', { id: 'request-heading' }, 'Ask for a different quota'),
      h('p', { class: 'hint' }, 'Fill in only what should change. Sizes take Ki, Mi, Gi; rates take Kbit, Mbit, Gbit; "max" means unlimited.'),
      h('div', { class: 'field-grid' }, ...this.inputs.map((i) => i.wrapper)),
      h('div', { class: 'field' }, h('label', { for: this.reasonId }, 'Reason (an admin reads it)'), this.reason),
      h('button', { type: 'submit' }, 'Send request'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'requests-heading' },
      h('h2', { id: 'requests-heading' }, 'Quota requests'),
      form,
      this.alerts.element,
      h('h3', {}, 'Earlier requests'),
      this.empty,
      this.list,
    );
  }

  setQuota(quota: Quota): void {
    for (const input of this.inputs) if (input.hint) input.hint.textContent = `now: ${input.now(quota)}`;
  }

  async refresh(): Promise<void> {
    const { items } = await this.api.get<Items<QuotaRequest>>('/v1/me/quota-requests');
    this.empty.hidden = items.length > 0;
    fill(this.list, ...items.map((r) => this.item(r)));
  }

  private item(r: QuotaRequest): HTMLElement {
    const withdraw = r.state === 'pending' ? h('button', { type: 'button', class: 'secondary' }, 'Withdraw') : null;
    withdraw?.addEventListener('click', () => void this.withdraw(r));
    const warnings = r.plan?.nodes.flatMap((n) => n.warnings) ?? [];
    return h(
      'li',
      { class: 'request', 'data-request': r.id, 'data-state': r.state },
      h('p', { class: 'request-head' }, h('span', { class: `badge state-${r.state}` }, r.state), ' ', formatTime(r.createdAt)),
      h('ul', { class: 'patch' }, ...describePatch(r.quota).map((line) => h('li', {}, line))),
      h('p', {}, 'Reason: ', r.reason),
      r.decidedAt
        ? h('p', {}, `Decided ${formatTime(r.decidedAt)}${r.decidedBy ? ` by ${r.decidedBy}` : ''}`, r.decisionReason ? `: ${r.decisionReason}` : '')
        : null,
      warnings.length > 0 ? h('ul', { class: 'warnings' }, ...warnings.map((w) => h('li', {}, w))) : null,
      withdraw,
    );
  }

  private async submit(): Promise<void> {
    const values = Object.fromEntries(this.inputs.map((i) => [i.name, i.input.value])) as unknown as QuotaRequestFields;
    const patch = quotaPatch(values);
    if (Object.keys(patch).length === 0) {
      this.alerts.error(new Error('Fill in at least one limit to ask for.'));
      this.inputs[0].input.focus();
      return;
    }
    try {
      const made = await this.api.post<QuotaRequest>('/v1/me/quota-requests', { quota: patch, reason: this.reason.value });
      for (const i of this.inputs) i.input.value = '';
      this.reason.value = '';
      this.alerts.done(`Request sent (${describePatch(made.quota).join(', ')}); an admin will review it.`);
      await this.refresh();
      this.onChange();
    } catch (err) {
      this.alerts.error(err);
    }
  }

  private async withdraw(r: QuotaRequest): Promise<void> {
    try {
      await this.api.post<QuotaRequest>(`/v1/me/quota-requests/${encodeURIComponent(r.id)}/withdraw`);
      this.alerts.done('Request withdrawn.');
      await this.refresh();
    } catch (err) {
      this.alerts.error(err);
    }
  }
}
