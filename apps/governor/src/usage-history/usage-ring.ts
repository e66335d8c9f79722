import type { RawSample, UsagePoint, UsageRates } from './usage-sample';

/** The columns of a point, after its time; a missing value is kept as NaN and given back as null. */
const POINT_COLUMNS = ['cpuCores', 'memoryBytes', 'pids', 'receiveBitsPerSecond', 'transmitBitsPerSecond', 'throttledRatio'] as const;
const STRIDE = 1 + POINT_COLUMNS.length;

const RAW_COLUMNS = ['cpuUsageUsec', 'nrPeriods', 'nrThrottled', 'memoryBytes', 'pids', 'oomKills', 'receiveBytes', 'transmitBytes'] as const;

const stored = (value: number | null | undefined): number => (value === null || value === undefined ? NaN : value);

/**
 * One tenant's recent usage: the last raw sample and a fixed ring of points, all in one Float64Array
 * allocated once. A sample then leaves nothing behind on the JavaScript heap: with thousands of tenants
 * sampled every 15 s, objects kept for 30 minutes would be promoted to the old generation and churned
 * there, and the idle governor's time would go into major GCs. Points are built as objects only when read.
 */
export class UsageRing {
  /** [at, ...RAW_COLUMNS] of the last sample, then `capacity` points of [at, ...POINT_COLUMNS] */
  private readonly cells: Float64Array;
  private next = 0;
  private count = 0;
  private hasLast = false;
  /** whether a throttling episode is open: it started at a point and has not yet ended */
  throttling = false;

  constructor(private readonly capacity: number) {
    this.cells = new Float64Array(1 + RAW_COLUMNS.length + capacity * STRIDE);
  }

  /** The sample before the current one, or undefined before the first. */
  last(): RawSample | undefined {
    if (!this.hasLast) return undefined;
    const sample: RawSample = { at: this.cells[0] };
    RAW_COLUMNS.forEach((column, i) => {
      const value = this.cells[1 + i];
      if (!Number.isNaN(value)) sample[column] = value;
    });
    return sample;
  }

  setLast(sample: RawSample): void {
    this.cells[0] = sample.at;
    RAW_COLUMNS.forEach((column, i) => (this.cells[1 + i] = stored(sample[column])));
    this.hasLast = true;
  }

  /** Adds a point; once the ring is full, the oldest goes. */
  push(at: number, point: UsageRates): void {
    const base = 1 + RAW_COLUMNS.length + this.next * STRIDE;
    this.cells[base] = at;
    POINT_COLUMNS.forEach((column, i) => (this.cells[base + 1 + i] = stored(point[column])));
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The points kept, oldest first. */
  points(): UsagePoint[] {
    const points: UsagePoint[] = [];
    for (let k = 0; k < this.count; k++) {
      const slot = (this.next - this.count + k + this.capacity) % this.capacity;
      const base = 1 + RAW_COLUMNS.length + slot * STRIDE;
      const value = (i: number): number | null => {
        const cell = this.cells[base + 1 + i];
        return Number.isNaN(cell) ? null : cell;
      };
      points.push({
        at: new Date(this.cells[base]).toISOString(),
        cpuCores: value(0),
        memoryBytes: value(1),
        pids: value(2),
        receiveBitsPerSecond: value(3),
        transmitBitsPerSecond: value(4),
        throttledRatio: value(5),
      });
    }
    return points;
  }
}
