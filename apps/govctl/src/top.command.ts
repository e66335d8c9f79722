import type { Command } from 'commander';
import pc from 'picocolors';
import { type GovernorClient, segment } from './api.client';
import { ACTIVE_WORKLOAD_STATES, type Items, type MyUsage, type Tenant, type TenantUsage, type Workload } from './api.types';
import type { Cli } from './cli.context';
import { UsageError } from './cli.errors';
import { examples } from './help.text';
import { parseExposition } from './metrics.parse';
import { type ScrapedTenant, TENANT_SERIES, tenantsFromMetrics } from './tenant-metrics.parse';
import { formatAge } from './quantity.format';
import {
  KEYS_HELP,
  renderTop,
  SORT_KEYS,
  type SortKey,
  sortRows,
  TENANT_TOP_COLUMNS,
  type TenantSample,
  tenantRows,
  WORKLOAD_TOP_COLUMNS,
  workloadRows,
} from './top.view';

/** The alternate screen and a hidden cursor while top runs, as top and systemd-cgtop do; restored on the way out. */
const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

const CONCURRENCY = 8;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

const active = (items: Workload[]) => items.filter((w) => ACTIVE_WORKLOAD_STATES.includes(w.state));

/** One read of every tenant (or, with a tenant key, of its own): usage and the number of running workloads. */
async function sampleTenants(client: GovernorClient): Promise<TenantSample[]> {
  if (client.isTenantKey) {
    const [me, mine, workloads] = await Promise.all([
      client.get<Tenant>('/v1/me'),
      client.get<MyUsage>('/v1/me/usage'),
      client.get<Items<Workload>>('/v1/me/workloads'),
    ]);
    return [{ name: me.name, phase: me.status.phase, quota: me.quota, usage: mine.usage, workloads: active(workloads.items).length, at: Date.now() }];
  }
  const tenants = await client.all<Tenant>('/v1/tenants');
  // One scrape of /metrics has every tenant this governor's agents read; a /usage request per tenant is the
  // fallback (for a tenant the scrape lacks, or a token that may not read /metrics).
  const scraped = await client.request<string>('GET', '/metrics', { text: true }).then(
    (res) => tenantsFromMetrics(parseExposition(res.body, TENANT_SERIES)),
    () => new Map<string, ScrapedTenant>(),
  );
  const scrapedAt = Date.now();
  return mapLimit(tenants, CONCURRENCY, async (t) => {
    const fromScrape = scraped.get(t.name);
    if (fromScrape) return { name: t.name, phase: t.status.phase, quota: t.quota, usage: fromScrape.usage, workloads: fromScrape.workloads, at: scrapedAt };
    const base = `/v1/tenants/${segment(t.name)}`;
    // A tenant that is terminating, or that this governor cannot read, still gets its row, without numbers.
    const [usage, workloads] = await Promise.all([
      t.status.phase === 'Terminating' ? undefined : client.get<TenantUsage>(`${base}/usage`).catch(() => undefined),
      client
        .get<Items<Workload>>(`${base}/workloads`)
        .then((r) => active(r.items).length)
        .catch(() => 0),
    ]);
    return { name: t.name, phase: t.status.phase, quota: t.quota, usage, workloads, at: Date.now() };
  });
}

const WORKLOAD_SERIES = new Set(['governor_workload_cpu_usage_seconds_total', 'governor_workload_memory_usage_bytes']);

/** A tenant's running workloads, with CPU and memory per workload leaf from /metrics (blank where it is not readable). */
async function sampleWorkloads(client: GovernorClient, cli: Cli, tenant: string) {
  const { items } = await client.get<Items<Workload>>(await cli.tenantPath(tenant, '/workloads'));
  const cpu = new Map<string, number>();
  const memory = new Map<string, number>();
  if (!client.isTenantKey) {
    const text = await client.request<string>('GET', '/metrics', { text: true }).then(
      (r) => r.body,
      () => '',
    );
    for (const s of parseExposition(text, WORKLOAD_SERIES)) {
      if (s.labels.tenant !== tenant || !s.labels.workload) continue;
      (s.name === 'governor_workload_memory_usage_bytes' ? memory : cpu).set(s.labels.workload, s.value);
    }
  }
  return { workloads: active(items), cpu, memory, at: Date.now() };
}

export function registerTop(program: Command, cli: Cli): void {
  examples(
    program
      .command('top')
      .summary('Live per-tenant usage against quota, like systemd-cgtop (top TENANT: its workloads)')
      .description(
        'A live per-tenant view, like systemd-cgtop: CPU (100% is one core) against the cap, the throttled share, memory against memory.max, ' +
          'tasks against pids.max, io rates, PSI (the share of the interval some task stalled) and running workloads. Keys switch the sort column: ' +
          `${KEYS_HELP}. With TENANT, that tenant's workloads`,
      )
      .argument('[tenant]', "show this tenant's workloads")
      .option('-d, --delay <seconds>', 'time between refreshes', '2')
      .option('-n, --iterations <n>', 'stop after this many refreshes')
      .option('-b, --batch', 'print frames one after another instead of refreshing in place (the default when stdout is not a terminal)')
      .option('--sort <column>', 'cpu, memory, tasks, io, throttled, workloads or name (keys switch it while top runs)', 'cpu')
      .action(async (tenant: string | undefined, options: { delay: string; iterations?: string; batch?: boolean; sort: string }) => {
        const delayMs = Number(options.delay) * 1000;
        if (!(delayMs >= 100)) throw new UsageError(`--delay must be a number of seconds, at least 0.1; got "${options.delay}"`);
        const iterations = options.iterations === undefined ? Infinity : Number(options.iterations);
        if (!(iterations >= 1)) throw new UsageError(`--iterations must be at least 1; got "${options.iterations}"`);
        if (!Object.values(SORT_KEYS).includes(options.sort as SortKey))
          throw new UsageError(`--sort must be one of ${[...new Set(Object.values(SORT_KEYS))].join(', ')}`);
        await runTop(cli, tenant, { delayMs, iterations, batch: options.batch === true || !cli.stdout.isTTY, sort: options.sort as SortKey });
      }),
    ['govctl top', 'govctl top acme            # the workloads of acme', 'govctl top -b -n 2 -d 1    # two frames as plain text, for scripts'],
  );
}

async function runTop(cli: Cli, tenant: string | undefined, options: { delayMs: number; iterations: number; batch: boolean; sort: SortKey }): Promise<void> {
  const client = cli.client();
  const interactive = !options.batch;
  const colors = pc.createColors(interactive && pc.isColorSupported);
  const stdin = process.stdin;
  let sort = options.sort;
  let quit = false;
  let wake: () => void = () => {};
  let draw: () => void = () => {};

  let previousTenants = new Map<string, TenantSample>();
  let previousCpu = new Map<string, number>();
  let previousAt = 0;
  let lastError = '';

  const onKey = (data: Buffer) => {
    for (const key of data.toString()) {
      if (key === 'q' || key === '\x03' || key === '\x04') quit = true;
      else if (SORT_KEYS[key]) sort = SORT_KEYS[key];
    }
    draw();
    if (quit) wake();
  };
  const onSignal = () => {
    quit = true;
    wake();
  };
  const onResize = () => draw();

  if (interactive) {
    cli.stdout.write(ENTER_SCREEN);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
    cli.stdout.on('resize', onResize);
  }
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    for (let frame = 0; frame < options.iterations && !quit; frame++) {
      let lines: (width: number, height: number) => string[];
      try {
        if (tenant === undefined) {
          const samples = await sampleTenants(client);
          const rows = tenantRows(previousTenants, samples);
          previousTenants = new Map(samples.map((s) => [s.name, s]));
          lines = (width, height) =>
            renderTop(TENANT_TOP_COLUMNS, sortRows(rows, sort), {
              title: title(cli, `${rows.length} tenants`, sort, options.delayMs),
              sort,
              width,
              height,
              colors,
            });
        } else {
          const sample = await sampleWorkloads(client, cli, tenant);
          const rows = workloadRows(sample.workloads, sample.cpu, previousCpu, sample.memory, previousAt ? (sample.at - previousAt) / 1000 : 0, (w) =>
            formatAge(w.startedAt ?? w.createdAt),
          );
          previousCpu = sample.cpu;
          previousAt = sample.at;
          lines = (width, height) =>
            renderTop(WORKLOAD_TOP_COLUMNS, sortRows(rows, sort), {
              title: title(cli, `tenant ${tenant}: ${rows.length} running workloads`, sort, options.delayMs),
              sort,
              width,
              height,
              colors,
            });
        }
        lastError = '';
      } catch (err) {
        if (!interactive) throw err;
        lastError = err instanceof Error ? err.message : String(err);
        lines = (width) => [colors.red(`govctl top: ${lastError} (retrying every ${options.delayMs / 1000}s; q quits)`.slice(0, width))];
      }
      draw = () => {
        if (!interactive) return;
        const width = cli.stdout.columns ?? 80;
        const height = cli.stdout.rows ?? 24;
        cli.stdout.write(`${HOME}${lines(width, height).join(`${CLEAR_LINE}\n`)}${CLEAR_LINE}${CLEAR_BELOW}`);
      };
      if (interactive) draw();
      else
        cli.out(
          `${lines(Number(cli.env.COLUMNS) || 200, Infinity)
            .map((line) => line.trimEnd())
            .join('\n')}\n`,
        );
      if (frame + 1 < options.iterations && !quit) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.delayMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (interactive) {
      cli.stdout.off('resize', onResize);
      stdin.off('data', onKey);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      cli.stdout.write(LEAVE_SCREEN);
    }
  }
}

function title(cli: Cli, what: string, sort: SortKey, delayMs: number): string {
  return `govctl top - ${cli.client().connection.server} - ${what} - every ${delayMs / 1000}s - sorted by ${sort} - keys: ${KEYS_HELP}`;
}
