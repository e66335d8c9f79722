import { isApiError } from './api';
import { fill, h } from './dom';

/** Where a panel shows what went wrong (role="alert", read out at once) and what went right (role="status"). */
export class AlertArea {
  readonly element = h('div', { class: 'messages' });
  private readonly status = h('p', { class: 'status', role: 'status' });
  private readonly alert = h('div', { class: 'alert-slot' });

  constructor() {
    this.element.append(this.alert, this.status);
  }

  error(err: unknown): void {
    this.status.textContent = '';
    const problem = isApiError(err) ? err.problem : { headline: err instanceof Error ? err.message : String(err), fields: [] as string[] };
    fill(
      this.alert,
      h(
        'div',
        { class: 'alert', role: 'alert' },
        h('p', { class: 'alert-headline' }, problem.headline),
        problem.fields.length > 0 ? h('ul', { class: 'alert-fields' }, ...problem.fields.map((line) => h('li', {}, line))) : null,
        'requestId' in problem && problem.requestId ? h('p', { class: 'alert-id' }, `Request id: ${problem.requestId}`) : null,
      ),
    );
  }

  done(message: string): void {
    fill(this.alert);
    this.status.textContent = message;
  }

  clear(): void {
    fill(this.alert);
    this.status.textContent = '';
  }
}
