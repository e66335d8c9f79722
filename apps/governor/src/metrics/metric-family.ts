import type { Metric, Registry } from 'prom-client';
import type { ExpositionBuffer } from './exposition-buffer';

/** One series' labels. Built once per tenant (or node, or collector) and reused by every scrape. */
export type LabelSet = Readonly<Record<string, string>>;

/**
 * One series of a family, in the shape prom-client's Registry formats. The labels go in `sharedLabels`
 * on purpose: the Registry turns a sharedLabels object into its `a="x",b="y"` text once and caches it in
 * a WeakMap keyed by the object, so a label set reused from scrape to scrape is never formatted again.
 * Plain `labels` would be escaped and joined anew for every line of every scrape (twice the formatting
 * time at 1,000 tenants). getMetricsAsJSON shows these labels under `sharedLabels`.
 */
export interface Sample {
  value: number;
  sharedLabels: LabelSet;
}

export type FamilyType = 'counter' | 'gauge';

/** What a family's values come from: the collection of the scrape that is asking. */
export type SampleSource = (family: MetricFamily) => Promise<readonly Sample[]>;

/**
 * A metric family whose values are read from the kernel at scrape time. prom-client's Counter cannot be
 * set to a value the kernel counted, and a Gauge would be typed "gauge", so this is a registry entry of
 * its own: prom-client's Registry only calls get() (and reset()) on what it holds and formats the
 * {name, help, type, values} that get() returns. Counters are exposed with type "counter" and the
 * kernel's own cumulative value.
 */
export class MetricFamily {
  readonly aggregator = 'sum';
  private encoded: { header: Buffer; line: Buffer } | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: FamilyType,
    private readonly source: SampleSource,
  ) {
    if (type === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
  }

  async get(): Promise<{ name: string; help: string; type: FamilyType; aggregator: 'sum'; values: readonly Sample[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: await this.source(this) };
  }

  /**
   * Writes this family in the exposition format, byte for byte as prom-client's Registry formats what get()
   * returns (HELP and TYPE lines, then one line per sample; no line for a family without samples but its HELP
   * and TYPE), in one synchronous pass over the samples. The name and each label set are encoded once and
   * copied from then on; only the values are formatted at each scrape.
   */
  write(samples: readonly Sample[], out: ExpositionBuffer): void {
    this.encoded ??= {
      header: Buffer.from(`# HELP ${escapeText(this.name)} ${escapeText(this.help)}\n# TYPE ${escapeText(this.name)} ${this.type}`),
      line: Buffer.from(`\n${escapeText(this.name)}`),
    };
    out.bytes(this.encoded.header);
    for (const sample of samples) {
      out.bytes(this.encoded.line);
      out.bytes(labelBytes(sample.sharedLabels));
      out.byte(SPACE);
      out.ascii(valueText(sample.value));
    }
  }

  /** Registry.resetMetrics(): nothing to reset, the values live in the kernel. */
  reset(): void {}

  register(registry: Registry): this {
    // The Registry accepts any object with get() and reset(); its type names only its own classes.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }
}

const SPACE = 0x20;

/**
 * Each label set's `{a="x",b="y"}` as UTF-8, made once per label object (the collectors keep one per tenant
 * and reuse it from scrape to scrape), as prom-client caches the text of its sharedLabels.
 */
const labelTexts = new WeakMap<LabelSet, Buffer>();

function labelBytes(labels: LabelSet): Buffer {
  let bytes = labelTexts.get(labels);
  if (bytes === undefined) {
    const pairs = Object.entries(labels).map(([key, value]) => `${key}="${escapeText(value).replace(/"/g, '\\"')}"`);
    bytes = Buffer.from(pairs.length === 0 ? '' : `{${pairs.join(',')}}`);
    labelTexts.set(labels, bytes);
  }
  return bytes;
}

/** prom-client's escaping of names, help and (with quotes too) label values. */
function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** prom-client's getValueAsString, its "Nan" spelling included. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/**
 * The values of one scrape, family by family, and the pacing of their formatting when prom-client's
 * registry.metrics() is asked for them. prom-client formats each family synchronously once its get()
 * resolves; releasing one family per turn of the event loop (setImmediate) keeps each slice of that
 * formatting to one family. GET /metrics does not go this way: MetricsExporter.exposition() formats the
 * snapshot in one pass, since under load every turn waits behind the requests already queued, and forty
 * turns cost a scrape far more than the one pass holds the loop.
 */
export class ScrapeSnapshot {
  private readonly byFamily = new Map<MetricFamily, Sample[]>();
  private readonly turns: Array<() => void> = [];
  private pacing = false;

  /** The list a collector pushes this family's samples to. */
  series(family: MetricFamily): Sample[] {
    let samples = this.byFamily.get(family);
    if (samples === undefined) {
      samples = [];
      this.byFamily.set(family, samples);
    }
    return samples;
  }

  /** Forgets what a collector emitted before it failed: a failed collector exports none of its series. */
  drop(families: readonly MetricFamily[]): void {
    for (const family of families) this.byFamily.delete(family);
  }

  samples(family: MetricFamily): readonly Sample[] {
    return this.byFamily.get(family) ?? [];
  }

  /** Resolves on a later turn of the event loop than every earlier caller's. */
  turn(): Promise<void> {
    return new Promise((resume) => {
      this.turns.push(resume);
      if (!this.pacing) {
        this.pacing = true;
        setImmediate(this.step);
      }
    });
  }

  private readonly step = (): void => {
    this.turns.shift()?.();
    if (this.turns.length > 0) setImmediate(this.step);
    else this.pacing = false;
  };
}
