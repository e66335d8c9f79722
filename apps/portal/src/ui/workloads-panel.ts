import type { Items, Workload } from '../api-types';
import { joinCommand, splitCommand } from '../command-line';
import { formatTime } from '../format';
import { AlertArea } from './alert-area';
import type { Api } from './api';
import { field, fill, h } from './dom';

const ACTIVE = new Set(['starting', 'running']);

function outcome(w: Workload): string {
  if (w.exitCode !== null) return `exit ${w.exitCode}`;
  if (w.signal) return w.signal;
  return w.message ?? '—';
}

/** Start a command, watch its state, read its logs, stop it. */
export class WorkloadsPanel {
  readonly alerts = new AlertArea();
  private readonly command = field(
    'Command',
    { name: 'command', placeholder: '/bin/sh -c "echo hello"', required: true },
    'An absolute path, then its arguments, quoted as in a shell.',
  );
  private readonly body = h('tbody');
  private readonly empty = h('p', { class: 'hint' }, 'No workloads yet.');
  private readonly logs: LogViewer;
  private workloads: Workload[] = [];
  readonly element: HTMLElement;

  constructor(
    private readonly api: Api,
    private readonly onChange: () => void,
  ) {
    this.logs = new LogViewer(api);
    const form = h('form', { class: 'inline-form', 'aria-label': 'Start a workload' }, this.command.wrapper, h('button', { type: 'submit' }, 'Start'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.start();
    });
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'workloads-heading' },
      h('h2', { id: 'workloads-heading' }, 'Workloads'),
      form,
      this.alerts.element,
      this.empty,
      h(
        'div',
        { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Workloads table' },
        h(
          'table',
          { class: 'workloads stack' },
          h('thead', {}, h('tr', {}, ...['Command', 'State', 'Started', 'Outcome', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
          this.body,
        ),
      ),
      this.logs.element,
    );
  }

  async refresh(): Promise<void> {
    this.show((await this.api.get<Items<Workload>>('/v1/me/workloads')).items);
    await this.logs.follow(this.workloads);
  }

  private show(items: Workload[]): void {
    this.workloads = items;
    this.empty.hidden = items.length > 0;
    fill(
      this.body,
      ...items.map((w) => {
        const line = joinCommand(w.command);
        const logs = h('button', { type: 'button', class: 'secondary', 'aria-label': `Logs of ${line}` }, 'Logs');
        logs.addEventListener('click', () => void this.logs.open(w));
        const stop = ACTIVE.has(w.state) ? h('button', { type: 'button', class: 'danger', 'aria-label': `Stop ${line}` }, 'Stop') : null;
        stop?.addEventListener('click', () => void this.stop(w));
        return h(
          'tr',
          { 'data-workload': w.id, 'data-state': w.state },
          h('td', { 'data-label': 'Command' }, h('code', { class: 'command' }, line)),
          h('td', { 'data-label': 'State' }, h('span', { class: `badge state-${w.state}` }, w.state)),
          h('td', { 'data-label': 'Started' }, formatTime(w.startedAt ?? w.createdAt)),
          h('td', { 'data-label': 'Outcome' }, outcome(w)),
          h('td', { class: 'actions', 'data-label': 'Actions' }, logs, stop),
        );
      }),
    );
  }

  private async start(): Promise<void> {
    try {
      const argv = splitCommand(this.command.input.value);
      if (argv.length === 0) throw new Error('Type a command to start, such as /bin/sleep 60.');
      const started = await this.api.post<Workload>('/v1/me/workloads', { command: argv });
      this.command.input.value = '';
      this.alerts.done(`Started ${joinCommand(started.command)} (${started.state}).`);
      await this.refresh();
      this.onChange();
    } catch (err) {
      this.alerts.error(err);
    }
  }

  private async stop(w: Workload): Promise<void> {
    try {
      await this.api.delete<Workload>(`/v1/me/workloads/${encodeURIComponent(w.id)}?grace=10s`);
      this.alerts.done(`Stopping ${joinCommand(w.command)}: SIGTERM now, killed after 10 s if it is still running.`);
      await this.refresh();
      this.onChange();
    } catch (err) {
      this.alerts.error(err);
    }
  }
}

/** The logs of one workload, as plain text; refreshed while the workload runs. */
class LogViewer {
  private workload: Workload | undefined;
  private readonly heading = h('h3', { id: 'logs-heading', tabindex: -1 }, 'Logs');
  private readonly stream = h(
    'select',
    { id: 'logs-stream' },
    h('option', { value: 'both' }, 'stdout and stderr'),
    h('option', { value: 'stdout' }, 'stdout'),
    h('option', { value: 'stderr' }, 'stderr'),
  );
  private readonly output = h('pre', { class: 'logs', tabindex: 0, 'aria-labelledby': 'logs-heading', 'aria-live': 'off' });
  private readonly alerts = new AlertArea();
  readonly element: HTMLElement;

  constructor(private readonly api: Api) {
    const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
    const close = h('button', { type: 'button', class: 'secondary' }, 'Close');
    refresh.addEventListener('click', () => void this.load());
    close.addEventListener('click', () => this.close());
    this.stream.addEventListener('change', () => void this.load());
    this.element = h(
      'section',
      { class: 'logs-viewer', 'aria-labelledby': 'logs-heading', hidden: true },
      this.heading,
      h('div', { class: 'inline-form' }, h('div', { class: 'field compact' }, h('label', { for: 'logs-stream' }, 'Stream'), this.stream), refresh, close),
      this.alerts.element,
      this.output,
    );
  }

  async open(w: Workload): Promise<void> {
    this.workload = w;
    this.heading.textContent = `Logs of ${joinCommand(w.command)}`;
    this.output.textContent = 'Loading…';
    this.element.hidden = false;
    this.heading.focus();
    await this.load();
  }

  /** Reloads the open logs when the workload is still running, or has just ended. */
  async follow(items: readonly Workload[]): Promise<void> {
    if (!this.workload) return;
    const now = items.find((w) => w.id === this.workload!.id);
    const wasActive = ACTIVE.has(this.workload.state);
    if (now) this.workload = now;
    if (wasActive) await this.load();
  }

  private close(): void {
    this.workload = undefined;
    this.element.hidden = true;
  }

  private async load(): Promise<void> {
    const w = this.workload;
    if (!w) return;
    try {
      const text = await this.api.text(`/v1/me/workloads/${encodeURIComponent(w.id)}/logs?stream=${this.stream.value}&tail=200`);
      if (this.workload?.id !== w.id) return;
      this.output.textContent = text === '' ? '(no output yet)' : text;
      this.alerts.clear();
    } catch (err) {
      this.alerts.error(err);
    }
  }
}
