import { formatDuration } from '../format';
import { niceCeiling, seriesMax } from '../usage-series';
import { fill, h, svg } from './dom';

export interface ChartSeries {
  label: string;
  /** a CSS class that gives the line its colour: series-a or series-b */
  className: 'series-a' | 'series-b';
  values: ReadonlyArray<number | null>;
}

const WIDTH = 300;
const HEIGHT = 100;

/**
 * A line chart drawn in SVG: one or two series over time, the quota as a dashed line, and a text summary
 * as its accessible name. The SVG stretches to its box; strokes keep their width (non-scaling-stroke).
 */
export class LineChart {
  readonly element: HTMLElement;
  private readonly plot = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img', class: 'chart-plot', focusable: 'false' });
  private readonly scale = h('p', { class: 'chart-scale' });
  private readonly legend = h('ul', { class: 'chart-legend' });

  constructor(
    private readonly title: string,
    private readonly format: (n: number) => string,
    /** the top of the scale for a given largest value */
    private readonly ceiling: (n: number) => number = niceCeiling,
  ) {
    this.element = h('figure', { class: 'chart' }, h('div', { class: 'chart-box' }, this.plot), h('figcaption', {}, this.scale, this.legend));
    this.update([], [], undefined);
  }

  update(times: readonly number[], series: readonly ChartSeries[], limit: number | undefined): void {
    const dataMax = Math.max(0, ...series.map((s) => seriesMax(s.values)));
    const top = this.ceiling(Math.max(dataMax, limit ?? 0));
    const [first, last] = [times[0], times.at(-1)];
    const span = first !== undefined && last !== undefined ? Math.max(last - first, 1) : 1;
    const x = (t: number) => (first === undefined ? 0 : ((t - first) / span) * WIDTH);
    const y = (v: number) => HEIGHT - (Math.min(v, top) / top) * HEIGHT;

    const children: SVGElement[] = [0.25, 0.5, 0.75].map((f) =>
      svg('line', { class: 'grid', x1: 0, x2: WIDTH, y1: HEIGHT * f, y2: HEIGHT * f, 'vector-effect': 'non-scaling-stroke' }),
    );
    if (limit !== undefined)
      children.push(svg('line', { class: 'limit', x1: 0, x2: WIDTH, y1: y(limit), y2: y(limit), 'vector-effect': 'non-scaling-stroke' }));
    for (const s of series) {
      for (const run of runs(times, s.values)) {
        const points =
          run.length === 1
            ? [
                [x(run[0][0]) - 2, y(run[0][1])],
                [x(run[0][0]) + 2, y(run[0][1])],
              ]
            : run.map(([t, v]) => [x(t), y(v)]);
        children.push(
          svg('polyline', {
            class: `line ${s.className}`,
            points: points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(2)}`).join(' '),
            'vector-effect': 'non-scaling-stroke',
          }),
        );
      }
    }
    fill(this.plot, ...children);

    const latest = series.map((s) => [...s.values].reverse().find((v) => v !== null) ?? null);
    const summary = this.summary(series, latest, limit, first === undefined || last === undefined ? 0 : (last - first) / 1000);
    this.plot.setAttribute('aria-label', summary);
    this.plot.dataset.points = String(times.length);
    this.plot.dataset.latest = latest[0] === null || latest[0] === undefined ? '' : String(latest[0]);
    this.plot.dataset.max = String(dataMax);
    this.scale.textContent =
      times.length < 2
        ? `Scale 0 to ${this.format(top)}; the line starts with the next samples.`
        : `Scale 0 to ${this.format(top)}, over the last ${formatDuration(span / 1000)}.`;
    fill(
      this.legend,
      ...series.map((s) => h('li', {}, h('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }), s.label)),
      limit === undefined ? null : h('li', {}, h('span', { class: 'swatch limit', 'aria-hidden': 'true' }), `quota ${this.format(limit)}`),
    );
  }

  private summary(series: readonly ChartSeries[], latest: ReadonlyArray<number | null>, limit: number | undefined, seconds: number): string {
    if (latest.every((v) => v === null)) return `${this.title}: no samples yet.`;
    const parts = series.map((s, i) => {
      const now = latest[i];
      return `${s.label} now ${now === null ? 'not available' : this.format(now)}, highest ${this.format(seriesMax(s.values))}`;
    });
    const quota = limit === undefined ? 'no quota' : `quota ${this.format(limit)}`;
    return `${this.title} over the last ${formatDuration(seconds)}: ${parts.join('; ')}; ${quota}.`;
  }
}

/** The unbroken stretches of a series: a null (no sample, a counter reset) breaks the line. */
function runs(times: readonly number[], values: ReadonlyArray<number | null>): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  let current: Array<[number, number]> = [];
  values.forEach((v, i) => {
    if (v === null || times[i] === undefined) {
      if (current.length > 0) out.push(current);
      current = [];
    } else current.push([times[i], v]);
  });
  if (current.length > 0) out.push(current);
  return out;
}
