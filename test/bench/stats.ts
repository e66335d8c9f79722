// What every benchmark in test/bench shares: a monotonic clock, percentiles, the output format (one JSON
// line on stdout for machines, then a table for people; DESIGN §8), and cleanup on Ctrl-C.

/** Seconds since `start` (process.hrtime.bigint(): monotonic, nanoseconds). */
export const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/** Milliseconds since `start`. */
export const millis = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/**
 * Nearest-rank percentile (the smallest sample with at least p% of the samples at or below it): always a
 * value that was measured, never an interpolation. With 200 samples p99 is the third largest; with 100,
 * the second largest.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('no samples');
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((sum, x) => sum + x, 0) / sorted.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/** A number for the table: a fixed number of decimals, as a string so that console.table aligns it. */
export const fixed = (value: number, digits = 2): string => value.toFixed(digits);

/** "3.2×": how many times `value` is `base`. */
export const times = (value: number, base: number): string => `${(value / base).toFixed(1)}×`;

/** Rounds every number of a result to microsecond precision (in ms) so that the JSON line stays short. */
export function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v))) as T;
}

/** The benchmark's output: one JSON line (rounded), then the table. */
export function report(benchmark: string, result: Record<string, unknown>, table: Record<string, string | number>[]): void {
  process.stdout.write(`${JSON.stringify(rounded({ benchmark, ...result }))}\n`);
  console.table(table);
}

/**
 * Runs `cleanup` (synchronous) and exits 130 on SIGINT or SIGTERM, which would otherwise end Node at once and
 * skip every finally block: a benchmark stopped by Ctrl-C must not leave cgroups, mounts or links behind.
 * Returns the function that removes the handlers again.
 */
export function cleanupOnSignal(cleanup: () => void): () => void {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const handler = (signal: NodeJS.Signals) => {
    process.stderr.write(`${signal}: cleaning up\n`);
    try {
      cleanup();
    } finally {
      process.exit(130);
    }
  };
  for (const signal of signals) process.once(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
