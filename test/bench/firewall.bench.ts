import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { type FirewallTenant, Nftables, renderFirewall, TenantFirewall } from '../../libs/network/src';
import { removeFirewallTable, scratchFirewallTable } from '../support/cgroup-root';
import { fixed, millis, report, summarize } from './stats';

// The tenant firewall at N tenants on this host (real libnftables, a scratch table): what the first apply, a pass
// in sync, a tenant's arrival and departure and a listing cost, and how long the event loop waited meanwhile.
// libnftables runs on a worker (Nftables.run), so the loop's delay should stay far below the apply's time. And what
// the table costs every packet the host receives: the round trip of loopback pings (which match no tenant, as the
// host's own traffic) without the table and with it.
// GOVERNOR_BENCH_FIREWALL_TENANTS: the sizes (default 100,1000,5000); GOVERNOR_BENCH_FIREWALL_ROUNDS: arrivals and
// departures timed per size (default 10).

const SIZES = (process.env.GOVERNOR_BENCH_FIREWALL_TENANTS ?? '100,1000,5000').split(',').map(Number);
const ROUNDS = Number(process.env.GOVERNOR_BENCH_FIREWALL_ROUNDS ?? 10);

/** Tenant i's entry: a link name and a /31 in 10.231.0.0/16 (only rules are made; no link or address exists). */
function tenant(i: number): FirewallTenant {
  const net = `10.231.${i >> 7}`;
  return {
    hostInterface: `gvbf${String(i).padStart(8, '0')}`,
    hostAddress: `${net}.${(i & 127) * 2}`,
    tenantAddress: `${net}.${(i & 127) * 2 + 1}`,
    outside: false,
  };
}

/** The mean round trip of 2,000 back-to-back loopback pings, in µs (ping's own figure). */
function loopbackRttMicros(): number {
  const ping = spawnSync('ping', ['-c', '2000', '-i', '0', '-q', '127.0.0.1'], { encoding: 'utf8' });
  const avg = /= [\d.]+\/([\d.]+)\//.exec(ping.stdout)?.[1];
  if (ping.status !== 0 || avg === undefined) throw new Error(`ping 127.0.0.1 failed: ${ping.stderr || ping.stdout}`);
  return Number(avg) * 1000;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { ms: millis(start), result };
}

async function measure(tenants: number): Promise<Record<string, string | number>> {
  const table = scratchFirewallTable('bfw');
  const firewall = new TenantFirewall(table);
  const nft = new Nftables();
  const entries = Array.from({ length: tenants + ROUNDS }, (_, i) => tenant(i));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  try {
    const bareRtt = loopbackRttMicros();
    delay.enable();
    const first = await timed(() => firewall.ensure(entries.slice(0, tenants)));
    const inSync = await timed(() => firewall.ensure(entries.slice(0, tenants)));
    const arrivals: number[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) arrivals.push((await timed(() => firewall.ensure(entries.slice(0, tenants + round)))).ms);
    const departures: number[] = [];
    for (let round = ROUNDS - 1; round >= 0; round -= 1) departures.push((await timed(() => firewall.ensure(entries.slice(0, tenants + round)))).ms);
    const listing = await timed(() => nft.listTableText(table));
    delay.disable();
    const tableRtt = loopbackRttMicros();
    const render = await timed(() => Promise.resolve(renderFirewall(entries, table)));
    const arrival = summarize(arrivals);
    const departure = summarize(departures);
    return {
      tenants,
      'first apply ms': fixed(first.ms, 1),
      'pass in sync ms': fixed(inSync.ms, 2),
      'arrival p50 / max ms': `${fixed(arrival.p50, 1)} / ${fixed(arrival.max, 1)}`,
      'departure p50 / max ms': `${fixed(departure.p50, 1)} / ${fixed(departure.max, 1)}`,
      'listing ms': fixed(listing.ms, 1),
      'listing kB': fixed((listing.result?.length ?? 0) / 1024, 0),
      'render ms': fixed(render.ms, 2),
      'event loop delay max ms': fixed(delay.max / 1e6, 1),
      'loopback ping rtt µs (no table / table)': `${fixed(bareRtt, 1)} / ${fixed(tableRtt, 1)}`,
      'load average': fixed(loadavg()[0], 1),
    };
  } finally {
    removeFirewallTable(table);
  }
}

async function run(): Promise<void> {
  const rows = [];
  for (const tenants of SIZES) rows.push(await measure(tenants));
  report('firewall', { rounds: ROUNDS, rows }, rows);
}

void run();
