import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { load } from 'js-yaml';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * Every metric GET /metrics exports, by name, as the dashboards and alert rules use them. The exporter's
 * own tests check that it exports exactly these, so a renamed metric fails there and not in a dashboard
 * months later. Labels: per tenant {tenant, node}; per workload {tenant, workload, node}.
 */
export const KNOWN_METRICS: Readonly<Record<string, MetricType>> = {
  // per tenant: CPU (cpu.stat, cpu.max, cpu.weight); the limit is absent when cpu.max is "max"
  governor_tenant_cpu_usage_seconds_total: 'counter',
  governor_tenant_cpu_user_seconds_total: 'counter',
  governor_tenant_cpu_system_seconds_total: 'counter',
  governor_tenant_cpu_periods_total: 'counter',
  governor_tenant_cpu_throttled_periods_total: 'counter',
  governor_tenant_cpu_throttled_seconds_total: 'counter',
  governor_tenant_cpu_burst_seconds_total: 'counter',
  governor_tenant_cpu_limit_cores: 'gauge',
  governor_tenant_cpu_weight: 'gauge',
  // per tenant: memory; limit and high are absent when "max"; events{event=low|high|max|oom|oom_kill|oom_group_kill}
  governor_tenant_memory_usage_bytes: 'gauge',
  governor_tenant_memory_working_set_bytes: 'gauge',
  governor_tenant_memory_peak_bytes: 'gauge',
  governor_tenant_memory_limit_bytes: 'gauge',
  governor_tenant_memory_high_bytes: 'gauge',
  governor_tenant_memory_events_total: 'counter',
  governor_tenant_swap_usage_bytes: 'gauge',
  // per tenant: pids; the limit is absent when "max"; events{event="max"}
  governor_tenant_pids_current: 'gauge',
  governor_tenant_pids_limit: 'gauge',
  governor_tenant_pids_events_total: 'counter',
  // per tenant and block device {device}
  governor_tenant_io_read_bytes_total: 'counter',
  governor_tenant_io_write_bytes_total: 'counter',
  governor_tenant_io_reads_total: 'counter',
  governor_tenant_io_writes_total: 'counter',
  // per tenant {resource=cpu|memory|io, kind=some|full}
  governor_tenant_pressure_seconds_total: 'counter',
  // per tenant link, from the tenant's side: receive is into the tenant
  governor_tenant_network_receive_bytes_total: 'counter',
  governor_tenant_network_transmit_bytes_total: 'counter',
  governor_tenant_network_drops_total: 'counter',
  // per tenant {state=running|exited|killed|oom-killed|failed|lost}; frozen is 0 or 1
  governor_tenant_workloads: 'gauge',
  governor_tenant_frozen: 'gauge',
  // per workload
  governor_workload_cpu_usage_seconds_total: 'counter',
  governor_workload_cpu_throttled_seconds_total: 'counter',
  governor_workload_cpu_throttled_periods_total: 'counter',
  // cpu.stat.local throttled_usec (6.6+): the workload's own cap only
  governor_workload_cpu_throttled_local_seconds_total: 'counter',
  governor_workload_memory_usage_bytes: 'gauge',
  // the governor itself
  governor_reconcile_duration_seconds: 'histogram',
  // {step=read|cgroup|network|isolation|status}
  governor_reconcile_step_duration_seconds: 'histogram',
  governor_reconcile_total: 'counter',
  governor_drift_corrections_total: 'counter',
  governor_cgroup_writes_total: 'counter',
  governor_tenants: 'gauge',
  governor_node_controller_available: 'gauge',
  governor_collector_duration_seconds: 'gauge',
  governor_collector_success: 'gauge',
  governor_collector_errors_total: 'counter',
  governor_node_heartbeat_age_seconds: 'gauge',
  governor_node_ready: 'gauge',
  // prom-client's default metrics (15.x on Linux)
  process_cpu_user_seconds_total: 'counter',
  process_cpu_system_seconds_total: 'counter',
  process_cpu_seconds_total: 'counter',
  process_start_time_seconds: 'gauge',
  process_resident_memory_bytes: 'gauge',
  process_virtual_memory_bytes: 'gauge',
  process_heap_bytes: 'gauge',
  process_open_fds: 'gauge',
  process_max_fds: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_eventloop_lag_min_seconds: 'gauge',
  nodejs_eventloop_lag_max_seconds: 'gauge',
  nodejs_eventloop_lag_mean_seconds: 'gauge',
  nodejs_eventloop_lag_stddev_seconds: 'gauge',
  nodejs_eventloop_lag_p50_seconds: 'gauge',
  nodejs_eventloop_lag_p90_seconds: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
  nodejs_active_resources: 'gauge',
  nodejs_active_resources_total: 'gauge',
  nodejs_active_handles: 'gauge',
  nodejs_active_handles_total: 'gauge',
  nodejs_active_requests: 'gauge',
  nodejs_active_requests_total: 'gauge',
  nodejs_heap_size_total_bytes: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_external_memory_bytes: 'gauge',
  nodejs_heap_space_size_total_bytes: 'gauge',
  nodejs_heap_space_size_used_bytes: 'gauge',
  nodejs_heap_space_size_available_bytes: 'gauge',
  nodejs_version_info: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
};

/** Series Prometheus adds to every scrape target itself; dashboards and alerts may use them too. */
export const PROMETHEUS_SERIES: Readonly<Record<string, MetricType>> = {
  up: 'gauge',
  scrape_duration_seconds: 'gauge',
  scrape_samples_scraped: 'gauge',
  scrape_samples_post_metric_relabeling: 'gauge',
  scrape_series_added: 'gauge',
};

/** The uid config/grafana/provisioning/datasources/prometheus.yml gives the Prometheus datasource. */
export const PROVISIONED_DATASOURCE_UID = 'governor-prometheus';

/** What panelQueries puts in for Grafana's built-in interval variables. */
export const BUILTIN_VARIABLES: Readonly<Record<string, string>> = { __rate_interval: '1m', __interval: '15s', __range: '5m' };

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface PanelTarget {
  refId: string;
  expr?: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  hide?: boolean;
  datasource?: DatasourceRef | string | null;
}

export interface GrafanaPanel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: DatasourceRef | string | null;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: PanelTarget[];
  /** the panels of a collapsed row */
  panels?: GrafanaPanel[];
  fieldConfig?: { defaults: { unit?: string; [key: string]: unknown }; overrides: unknown[] };
  options?: Record<string, unknown>;
  transformations?: unknown[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  label?: string;
  query?: string | { query: string };
  definition?: string;
  datasource?: DatasourceRef | string | null;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  current?: { value?: string | string[] };
}

export interface GrafanaDashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  tags?: string[];
  panels?: GrafanaPanel[];
  templating?: { list?: TemplateVariable[] };
}

export interface PanelQuery {
  /** the dashboard's title */
  dashboard: string;
  /** the panel's title */
  panel: string;
  refId: string;
  /** the expression with every variable replaced, ready for the Prometheus API */
  expr: string;
  /** whether Grafana runs it as an instant query (stat, bar gauge and table panels) */
  instant: boolean;
}

export type AlertRule = {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

export type RecordingRule = { record: string; expr: string; labels?: Record<string, string> };

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<AlertRule | RecordingRule>;
}

/** The checkout: the nearest directory above this file (under src or dist) that has config/grafana. */
export const REPO_ROOT = findRepoRoot(__dirname);

export const DASHBOARD_DIR = join(REPO_ROOT, 'config/grafana/dashboards');
export const ALERT_RULES_FILE = join(REPO_ROOT, 'config/prometheus/rules/governor.rules.yml');

function findRepoRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config/grafana'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no checkout with config/grafana above ${from}`);
  }
}

/** Every dashboard of config/grafana/dashboards (or dir), parsed, in file name order. */
export function loadDashboards(dir: string = DASHBOARD_DIR): GrafanaDashboard[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      try {
        return JSON.parse(readFileSync(join(dir, file), 'utf8')) as GrafanaDashboard;
      } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
      }
    });
}

/** The dashboard's panels, rows' nested panels included, rows themselves left out. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  const out: GrafanaPanel[] = [];
  const walk = (panels: readonly GrafanaPanel[] | undefined): void => {
    for (const panel of panels ?? []) {
      if (panel.type !== 'row') out.push(panel);
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/**
 * Every target expression of every panel, with the variables replaced as Grafana would for one tenant:
 * $tenant by the tenant, $__rate_interval by 1m, $__interval by 15s, $__range by 5m, and any other
 * dashboard variable ($node, $instance) by its "All" value (allValue, else .*).
 */
export function panelQueries(dashboard: GrafanaDashboard, tenant: string): PanelQuery[] {
  const values = new Map<string, string>(Object.entries(BUILTIN_VARIABLES));
  for (const variable of dashboard.templating?.list ?? []) values.set(variable.name, variable.allValue ?? '.*');
  values.set('tenant', tenant);
  const title = dashboard.title ?? dashboard.uid ?? '(untitled)';
  const queries: PanelQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined || target.hide === true) continue;
      queries.push({
        dashboard: title,
        panel: panel.title ?? `panel ${panel.id ?? '?'}`,
        refId: target.refId,
        expr: substituteVariables(target.expr, values),
        instant: target.instant === true && target.range !== true,
      });
    }
  }
  return queries;
}

/** Replaces $name, ${name} and ${name:format}; a variable that has no value is left as it is. */
export function substituteVariables(expr: string, values: ReadonlyMap<string, string>): string {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => values.get(braced ?? bare ?? '') ?? whole,
  );
}

/** The rule groups of config/prometheus/rules/governor.rules.yml (or file). */
export function loadAlertRules(file: string = ALERT_RULES_FILE): RuleGroup[] {
  const parsed = load(readFileSync(file, 'utf8')) as { groups?: RuleGroup[] } | null;
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.groups)) throw new Error(`${file}: no "groups" list`);
  return parsed.groups;
}

export function isAlertRule(rule: AlertRule | RecordingRule): rule is AlertRule {
  return 'alert' in rule;
}

const METRIC_PREFIX = /^(governor_|process_|nodejs_|scrape_)|^up$/;
const LABEL_CLAUSE = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;

/**
 * The metric names an expression references: identifiers that start with governor_, process_, nodejs_
 * or scrape_, or are up, and are not followed by "(" (a function). Strings, comments, label matchers
 * ({...}) and the label lists of by, without, on, ignoring, group_left and group_right are left out
 * first, so label names and values never count.
 */
export function metricNames(expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/#.*$/gm, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(LABEL_CLAUSE, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const name = match[0];
    const start = match.index ?? 0;
    // the unit of a duration or the exponent of a number: 5m, 1e3
    if (start > 0 && /[\w.]/.test(text[start - 1])) continue;
    if (/^\s*\(/.test(text.slice(start + name.length))) continue;
    if (METRIC_PREFIX.test(name)) names.add(name);
  }
  return [...names].sort();
}

/** Whether a series name is exported (histograms by their _bucket, _sum and _count) or added by Prometheus. */
export function isKnownSeries(name: string): boolean {
  if (Object.hasOwn(KNOWN_METRICS, name) || Object.hasOwn(PROMETHEUS_SERIES, name)) return true;
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
  return histogram !== null && Object.hasOwn(KNOWN_METRICS, histogram[1]) && KNOWN_METRICS[histogram[1]] === 'histogram';
}
