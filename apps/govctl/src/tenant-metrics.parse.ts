import type { TenantUsage } from './api.types';
import type { MetricSample } from './metrics.parse';

/** The per-tenant series `govctl top` reads from one scrape instead of one /usage request per tenant. */
export const TENANT_SERIES = new Set([
  'governor_tenant_cpu_usage_seconds_total',
  'governor_tenant_cpu_periods_total',
  'governor_tenant_cpu_throttled_periods_total',
  'governor_tenant_memory_usage_bytes',
  'governor_tenant_pids_current',
  'governor_tenant_io_read_bytes_total',
  'governor_tenant_io_write_bytes_total',
  'governor_tenant_pressure_seconds_total',
  'governor_tenant_workloads',
]);

export interface ScrapedTenant {
  usage: TenantUsage;
  /** workloads starting or running */
  workloads: number;
}

const add = (a: number | undefined, b: number) => (a ?? 0) + b;

/**
 * Each tenant's usage from a scrape, summed over the nodes that report it, in the shape /usage answers
 * (counters and gauges; PSI as its stall totals). A tenant without a CPU series is left out: no node has
 * its cgroup, and its row falls back to the /usage endpoint.
 */
export function tenantsFromMetrics(samples: MetricSample[]): Map<string, ScrapedTenant> {
  const tenants = new Map<string, ScrapedTenant>();
  const of = (name: string) => {
    let tenant = tenants.get(name);
    if (!tenant) {
      tenant = { usage: { cpu: {}, memory: {}, pids: {}, io: [], pressure: {}, frozen: false, populated: false }, workloads: 0 };
      tenants.set(name, tenant);
    }
    return tenant;
  };
  for (const { name, labels, value } of samples) {
    if (!labels.tenant || !Number.isFinite(value)) continue;
    const { usage } = of(labels.tenant);
    switch (name) {
      case 'governor_tenant_cpu_usage_seconds_total':
        usage.cpu.usageSeconds = add(usage.cpu.usageSeconds, value);
        break;
      case 'governor_tenant_cpu_periods_total':
        usage.cpu.periods = add(usage.cpu.periods, value);
        break;
      case 'governor_tenant_cpu_throttled_periods_total':
        usage.cpu.throttledPeriods = add(usage.cpu.throttledPeriods, value);
        break;
      case 'governor_tenant_memory_usage_bytes':
        usage.memory.currentBytes = add(usage.memory.currentBytes, value);
        break;
      case 'governor_tenant_pids_current':
        usage.pids.current = add(usage.pids.current, value);
        break;
      case 'governor_tenant_io_read_bytes_total':
      case 'governor_tenant_io_write_bytes_total': {
        const key = name === 'governor_tenant_io_read_bytes_total' ? 'rbytes' : 'wbytes';
        const device = `${labels.node ?? ''}/${labels.device ?? ''}`;
        let entry = usage.io.find((d) => d.device === device);
        if (!entry) usage.io.push((entry = { device }));
        entry[key] = add(entry[key], value);
        break;
      }
      case 'governor_tenant_pressure_seconds_total': {
        const resource = labels.resource as 'cpu' | 'memory' | 'io';
        if (labels.kind !== 'some' || !['cpu', 'memory', 'io'].includes(resource)) break;
        usage.pressure[resource] = { some: { totalUsec: add(usage.pressure[resource]?.some.totalUsec, value * 1e6) } };
        break;
      }
      case 'governor_tenant_workloads':
        if (labels.state === 'running' || labels.state === 'starting') of(labels.tenant).workloads += value;
        break;
    }
  }
  for (const [name, tenant] of tenants) if (tenant.usage.cpu.usageSeconds === undefined) tenants.delete(name);
  return tenants;
}
