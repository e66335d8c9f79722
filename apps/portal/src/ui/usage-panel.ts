import type { Quota, Usage, UsagePoint } from '../api-types';
import { formatBitsPerSecond, formatBytes, formatCores, formatDuration, formatLimit, limitValue } from '../format';
import { binaryCeiling, chartPoints, livePoint, type UsageSample } from '../usage-series';
import { AlertArea } from './alert-area';
import { LineChart } from './chart';
import { fill, h } from './dom';

const NA = 'not available';
/** Live points kept while the server has no newer sample: a minute at 2 s, for a server that has not sampled yet. */
const LIVE_KEPT = 30;

interface Card {
  element: HTMLElement;
  figure: HTMLElement;
  limit: HTMLElement;
  meter: HTMLMeterElement;
  details: HTMLDListElement;
  chart: LineChart;
}

function card(key: string, title: string, chart: LineChart): Card {
  const headingId = `usage-${key}-heading`;
  const figure = h('span', { class: 'figure', 'data-metric': key }, NA);
  const limit = h('span', { class: 'of-limit' });
  const meter = h('meter', { min: 0, max: 1, value: 0, 'aria-label': `${title} against its quota` });
  const details = h('dl', { class: 'facts' });
  return {
    element: h(
      'section',
      { class: 'card', 'aria-labelledby': headingId },
      h('h3', { id: headingId }, title),
      h('p', { class: 'now' }, figure, ' ', limit),
      meter,
      details,
      chart.element,
    ),
    figure,
    limit,
    meter,
    details,
    chart,
  };
}

function facts(list: HTMLDListElement, rows: Array<[string, string]>): void {
  fill(list, ...rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

function meter(m: HTMLMeterElement, value: number | null | undefined, limit: number | undefined): void {
  m.hidden = limit === undefined || value === null || value === undefined;
  if (m.hidden) return;
  m.max = limit!;
  m.low = limit! * 0.75;
  m.high = limit! * 0.9;
  m.optimum = 0;
  m.value = Math.min(value!, limit!);
}

const or = (value: number | null | undefined, format: (n: number) => string): string => (value === null || value === undefined ? NA : format(value));

/** Quota against usage, now and over the last half hour, for CPU, memory, pids and the network. */
export class UsagePanel {
  readonly alerts = new AlertArea();
  private readonly cpu = card('cpu', 'CPU', new LineChart('CPU', formatCores));
  private readonly memory = card('memory', 'Memory', new LineChart('Memory', formatBytes, binaryCeiling));
  private readonly pids = card('pids', 'Processes', new LineChart('Processes', (n) => String(Math.round(n))));
  private readonly network = card('network', 'Network', new LineChart('Network', formatBitsPerSecond));
  private readonly updated = h('p', { class: 'hint', 'aria-live': 'off' }, 'Waiting for the first sample…');
  readonly element = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'usage-heading' },
    h('h2', { id: 'usage-heading' }, 'Usage against quota'),
    h('p', { class: 'hint' }, 'Updated every 2 seconds while this tab is visible.'),
    this.alerts.element,
    h('div', { class: 'cards' }, this.cpu.element, this.memory.element, this.pids.element, this.network.element),
    this.updated,
  );
  private previous: UsageSample | undefined;
  /** the page's own points since the server's last sample (it samples every 5 s; the page polls every 2 s) */
  private live: UsagePoint[] = [];
  private quota: Quota = {};

  setQuota(quota: Quota): void {
    this.quota = quota;
  }

  show(usage: Usage, receivedAt = Date.now()): void {
    const sample = { receivedAt, usage };
    const live = this.previous === undefined ? undefined : livePoint(this.previous, sample);
    this.previous = sample;
    const lastSample = usage.history.points.at(-1);
    this.live = [...this.live, ...(live ? [live] : [])]
      .filter((p) => lastSample === undefined || Date.parse(p.at) > Date.parse(lastSample.at))
      .slice(-LIVE_KEPT);
    const points = chartPoints(usage.history.points, this.live);
    const times = points.map((p) => Date.parse(p.at));
    const latest: Partial<UsagePoint> = live ?? usage.history.points.at(-1) ?? {};
    const q = this.quota;
    const u = usage.usage;

    const cpuMax = limitValue(q.cpu?.max);
    this.cpu.figure.textContent = or(latest.cpuCores, formatCores);
    this.cpu.limit.textContent = `of ${formatLimit(q.cpu?.max, formatCores)}`;
    meter(this.cpu.meter, latest.cpuCores, cpuMax);
    const throttledShare = u.cpu.periods ? `${((100 * (u.cpu.throttledPeriods ?? 0)) / u.cpu.periods).toFixed(1)}% of periods` : NA;
    facts(this.cpu.details, [
      ['CPU time used', or(u.cpu.usageSeconds, formatDuration)],
      ['Throttled', u.cpu.throttledSeconds === undefined ? NA : `${formatDuration(u.cpu.throttledSeconds)} (${throttledShare})`],
    ]);
    this.cpu.chart.update(times, [{ label: 'used', className: 'series-a', values: points.map((p) => p.cpuCores) }], cpuMax);

    const memMax = limitValue(q.memory?.max);
    this.memory.figure.textContent = or(u.memory.currentBytes, formatBytes);
    this.memory.limit.textContent = `of ${formatLimit(q.memory?.max, formatBytes)}`;
    meter(this.memory.meter, u.memory.currentBytes, memMax);
    facts(this.memory.details, [
      ['High mark (memory.high)', formatLimit(q.memory?.high, formatBytes)],
      ['Peak', or(u.memory.peakBytes, formatBytes)],
      ['OOM kills', or(u.memory.events?.oomKill, String)],
    ]);
    this.memory.chart.update(times, [{ label: 'in use', className: 'series-a', values: points.map((p) => p.memoryBytes) }], memMax);

    const pidsMax = limitValue(q.pids?.max);
    this.pids.figure.textContent = or(u.pids.current, String);
    this.pids.limit.textContent = `of ${formatLimit(q.pids?.max, String)}`;
    meter(this.pids.meter, u.pids.current, pidsMax);
    facts(this.pids.details, [['Frozen', u.frozen ? 'yes' : 'no']]);
    this.pids.chart.update(times, [{ label: 'processes', className: 'series-a', values: points.map((p) => p.pids) }], pidsMax);

    const ingress = limitValue(q.network?.ingress);
    this.network.figure.textContent = `in ${or(latest.receiveBitsPerSecond, formatBitsPerSecond)}, out ${or(latest.transmitBitsPerSecond, formatBitsPerSecond)}`;
    this.network.limit.textContent = `quota in ${formatLimit(q.network?.ingress, formatBitsPerSecond)}, out ${formatLimit(q.network?.egress, formatBitsPerSecond)}`;
    meter(this.network.meter, latest.receiveBitsPerSecond, ingress);
    facts(
      this.network.details,
      usage.network === null
        ? [['Link', 'not set up yet']]
        : [
            ['Received', formatBytes(usage.network.receiveBytes)],
            ['Sent', formatBytes(usage.network.transmitBytes)],
            ['Dropped packets', String(usage.network.drops)],
          ],
    );
    this.network.chart.update(
      times,
      [
        { label: 'receive', className: 'series-a', values: points.map((p) => p.receiveBitsPerSecond) },
        { label: 'transmit', className: 'series-b', values: points.map((p) => p.transmitBitsPerSecond) },
      ],
      ingress,
    );
    this.updated.textContent = `Node ${usage.node}; last update ${new Date(receivedAt).toLocaleTimeString()}.`;
  }
}
