import type { TenantEvent } from '../api-types';
import { formatTime } from '../format';
import { AlertArea } from './alert-area';
import { fill, h } from './dom';

const KINDS: Record<string, string> = { 'oom-kill': 'OOM kill', throttling: 'Throttling', 'quota-change': 'Quota change', workload: 'Workload' };

/** OOM kills, throttling episodes, quota changes and workloads that ended badly, newest first. */
export class EventsPanel {
  readonly alerts = new AlertArea();
  private readonly body = h('tbody');
  private readonly empty = h('p', { class: 'hint' }, 'Nothing has happened yet.');
  readonly element = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'events-heading' },
    h('h2', { id: 'events-heading' }, 'Events'),
    this.alerts.element,
    this.empty,
    h(
      'div',
      { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Events table' },
      h(
        'table',
        { class: 'events stack' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'What'))),
        this.body,
      ),
    ),
  );

  show(events: readonly TenantEvent[]): void {
    this.empty.hidden = events.length > 0;
    fill(
      this.body,
      ...events.map((e) =>
        h(
          'tr',
          { 'data-kind': e.kind },
          h('td', { 'data-label': 'When' }, formatTime(e.at)),
          h('td', { 'data-label': 'Kind' }, h('span', { class: `badge kind-${e.kind}` }, KINDS[e.kind] ?? e.kind)),
          h('td', { 'data-label': 'What' }, e.message),
        ),
      ),
    );
  }
}
