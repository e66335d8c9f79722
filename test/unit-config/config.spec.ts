import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { loadConfig } from '../../apps/governor/src/config/governor.config';
import {
  ALERT_RULES_FILE,
  allPanels,
  type DatasourceRef,
  isAlertRule,
  isKnownSeries,
  KNOWN_METRICS,
  loadAlertRules,
  loadDashboards,
  metricNames,
  panelQueries,
  PROVISIONED_DATASOURCE_UID,
  REPO_ROOT,
  type AlertRule,
} from '../support/dashboards';

const dashboards = loadDashboards();
const alerts = loadAlertRules().flatMap((group) => group.rules.filter(isAlertRule));
const readYaml = <T>(path: string): T => load(readFileSync(join(REPO_ROOT, path), 'utf8')) as T;
const uidOf = (ref: DatasourceRef | string | null | undefined): string | undefined => (typeof ref === 'string' ? ref : (ref?.uid ?? undefined));
const PANEL_TYPES = new Set(['timeseries', 'stat', 'table', 'bargauge']);

test('ships the fleet overview, tenant and governor health dashboards', () => {
  assert.deepEqual(dashboards.map((d) => d.uid).sort(), ['governor-fleet', 'governor-health', 'governor-tenant']);
});

test('gives every dashboard a uid, a title, schema version 39 and panels', () => {
  for (const dashboard of dashboards) {
    assert.match(dashboard.uid ?? '', /^[\w-]{1,40}$/, `uid of ${dashboard.title}`);
    assert.ok(dashboard.title, `title of ${dashboard.uid}`);
    assert.equal(dashboard.schemaVersion, 39, `schemaVersion of ${dashboard.uid}`);
    assert.ok(allPanels(dashboard).length > 0, `panels of ${dashboard.uid}`);
  }
});

test('provisions the Prometheus datasource under the uid every dashboard names', () => {
  const provisioned = readYaml<{ datasources: Array<{ uid: string; type: string }> }>('config/grafana/provisioning/datasources/prometheus.yml');
  assert.deepEqual(
    provisioned.datasources.map((d) => [d.type, d.uid]),
    [['prometheus', PROVISIONED_DATASOURCE_UID]],
  );
});

test('points every panel, target and query variable at the provisioned datasource', () => {
  for (const dashboard of dashboards) {
    for (const panel of allPanels(dashboard)) {
      const where = `${dashboard.uid} / ${panel.title}`;
      assert.equal(uidOf(panel.datasource), PROVISIONED_DATASOURCE_UID, `${where}: panel datasource`);
      assert.ok((panel.targets ?? []).length > 0, `${where}: no targets`);
      for (const target of panel.targets ?? [])
        assert.equal(uidOf(target.datasource), PROVISIONED_DATASOURCE_UID, `${where} ${target.refId}: target datasource`);
    }
    for (const variable of dashboard.templating?.list ?? []) {
      if (variable.type === 'query') assert.equal(uidOf(variable.datasource), PROVISIONED_DATASOURCE_UID, `${dashboard.uid}: variable ${variable.name}`);
    }
  }
});

test('gives every panel a known type, a title, a unique id, a place on the 24-column grid and a unit', () => {
  for (const dashboard of dashboards) {
    const ids = new Set<number>();
    for (const panel of dashboard.panels ?? []) {
      assert.ok(panel.id !== undefined && !ids.has(panel.id), `${dashboard.uid}: panel id ${panel.id} missing or repeated`);
      ids.add(panel.id);
    }
    for (const panel of allPanels(dashboard)) {
      const where = `${dashboard.uid} / ${panel.title}`;
      assert.ok(PANEL_TYPES.has(panel.type), `${where}: panel type ${panel.type}`);
      assert.ok(panel.title, `${dashboard.uid}: panel ${panel.id} has no title`);
      assert.ok(panel.gridPos && panel.gridPos.x >= 0 && panel.gridPos.w > 0 && panel.gridPos.x + panel.gridPos.w <= 24, `${where}: gridPos`);
      assert.ok(panel.fieldConfig?.defaults.unit, `${where}: no unit`);
    }
  }
});

test('labels every time series with a legend', () => {
  for (const dashboard of dashboards) {
    for (const panel of allPanels(dashboard).filter((p) => p.type === 'timeseries')) {
      for (const target of panel.targets ?? []) {
        assert.ok(target.legendFormat && target.legendFormat !== '__auto', `${dashboard.uid} / ${panel.title} ${target.refId}: no legend`);
      }
    }
  }
});

test('gives the tenant dashboard a tenant variable drawn from governor_tenant_cpu_usage_seconds_total', () => {
  const tenant = dashboards.find((d) => d.uid === 'governor-tenant');
  const variable = tenant?.templating?.list?.find((v) => v.name === 'tenant');
  assert.ok(variable, 'no tenant variable');
  assert.equal(variable.type, 'query');
  assert.equal(variable.definition, 'label_values(governor_tenant_cpu_usage_seconds_total, tenant)');
  assert.ok(!variable.multi && !variable.includeAll, 'one tenant at a time');
  for (const panel of allPanels(tenant ?? {})) {
    for (const target of panel.targets ?? []) assert.match(target.expr ?? '', /tenant="\$tenant"/, `${panel.title} ${target.refId} is not limited to $tenant`);
  }
});

test('takes every rate and increase window from $__rate_interval or $__range', () => {
  for (const dashboard of dashboards) {
    for (const panel of allPanels(dashboard)) {
      for (const target of panel.targets ?? []) {
        for (const [, window] of (target.expr ?? '').matchAll(/\[([^\]]*)\]/g)) {
          assert.ok(['$__rate_interval', '$__range'].includes(window), `${dashboard.uid} / ${panel.title} ${target.refId}: window [${window}]`);
        }
      }
    }
  }
});

test('queries only metrics the governor exports in every dashboard', () => {
  let checked = 0;
  for (const dashboard of dashboards) {
    for (const query of panelQueries(dashboard, 'acme')) {
      const names = metricNames(query.expr);
      assert.ok(names.length > 0, `${query.dashboard} / ${query.panel} ${query.refId}: no metric in ${query.expr}`);
      for (const name of names) assert.ok(isKnownSeries(name), `${query.dashboard} / ${query.panel} ${query.refId}: unknown metric ${name}`);
      checked += 1;
    }
  }
  assert.ok(checked > 50, `only ${checked} queries`);
});

test('replaces the tenant, the other variables and the interval variables in panel queries', () => {
  const tenant = dashboards.find((d) => d.uid === 'governor-tenant') ?? {};
  const queries = panelQueries(tenant, 'acme');
  assert.ok(queries.length > 0);
  for (const query of queries) {
    assert.doesNotMatch(query.expr, /\$/, `${query.panel} ${query.refId}: ${query.expr}`);
    assert.match(query.expr, /tenant="acme", node=~"\.\*"/);
  }
  assert.ok(queries.some((q) => q.expr.includes('[1m]')));
  assert.ok(queries.some((q) => q.expr.includes('[5m]')));
  assert.ok(queries.some((q) => q.instant) && queries.some((q) => !q.instant));
});

test('finds metric names but not functions, label names, label values or durations', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (le) (rate(governor_reconcile_duration_seconds_bucket{job="governor", instance=~"up"}[5m]))) / on (instance) group_left (node) up',
    ),
    ['governor_reconcile_duration_seconds_bucket', 'up'],
  );
  assert.deepEqual(metricNames('sum without (tenant) (governor_tenants) > 1e3 and governor_node_heartbeat_age_seconds offset 5m'), [
    'governor_node_heartbeat_age_seconds',
    'governor_tenants',
  ]);
  assert.deepEqual(metricNames('rate(process_cpu_seconds_total[1m])*100+nodejs_eventloop_lag_seconds'), [
    'nodejs_eventloop_lag_seconds',
    'process_cpu_seconds_total',
  ]);
  assert.ok(!isKnownSeries('governor_tenant_cpu_usage_seconds_total_bucket'), 'a counter has no buckets');
  assert.ok(isKnownSeries('nodejs_gc_duration_seconds_count'));
});

test('lists the metrics of the design with their types', () => {
  assert.equal(KNOWN_METRICS.governor_reconcile_duration_seconds, 'histogram');
  assert.equal(KNOWN_METRICS.governor_tenant_memory_events_total, 'counter');
  assert.equal(KNOWN_METRICS.governor_tenant_pids_limit, 'gauge');
  for (const [name, type] of Object.entries(KNOWN_METRICS)) {
    if (name.endsWith('_total')) assert.equal(type, name.startsWith('nodejs_active_') ? 'gauge' : 'counter', name);
  }
});

test('gives every alert an expr, a for, a severity, a summary, a description and a runbook', () => {
  assert.ok(alerts.length > 0, `no alerts in ${ALERT_RULES_FILE}`);
  const names = new Set<string>();
  for (const rule of alerts) {
    assert.ok(!names.has(rule.alert), `${rule.alert} twice`);
    names.add(rule.alert);
    assert.ok(rule.expr?.trim(), `${rule.alert}: expr`);
    assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert}: for`);
    assert.ok(['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''), `${rule.alert}: labels.severity`);
    for (const key of ['summary', 'description', 'runbook']) assert.ok(rule.annotations?.[key]?.trim(), `${rule.alert}: annotations.${key}`);
  }
});

test('alerts on throttling, OOM kills, memory and pids near their limits, reconcile errors, drift, lost heartbeats and a governor down', () => {
  const byName = new Map<string, AlertRule>(alerts.map((rule) => [rule.alert, rule]));
  const uses = (alert: string, metric: string): void => {
    const rule = byName.get(alert);
    assert.ok(rule, `no alert ${alert}`);
    assert.ok(metricNames(rule.expr).includes(metric), `${alert} does not use ${metric}`);
  };
  uses('GovernorTenantCPUThrottled', 'governor_tenant_cpu_throttled_periods_total');
  uses('GovernorTenantOOMKill', 'governor_tenant_memory_events_total');
  uses('GovernorTenantMemoryNearLimit', 'governor_tenant_memory_limit_bytes');
  uses('GovernorTenantPidsNearLimit', 'governor_tenant_pids_limit');
  uses('GovernorReconcileErrors', 'governor_reconcile_total');
  uses('GovernorDriftCorrectionsSpiking', 'governor_drift_corrections_total');
  uses('GovernorAgentHeartbeatLost', 'governor_node_ready');
  assert.equal(byName.get('GovernorDown')?.expr.trim(), 'up{job="governor"} == 0');
});

test('uses only metrics the governor exports in the alert rules', () => {
  for (const rule of alerts) {
    const names = metricNames(rule.expr);
    assert.ok(names.length > 0, `${rule.alert}: no metric`);
    for (const name of names) assert.ok(isKnownSeries(name), `${rule.alert}: unknown metric ${name}`);
  }
});

test('scrapes the governor at its default port and loads the rules but not their promtool test', () => {
  const config = readYaml<{ rule_files: string[]; scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> }>(
    'config/prometheus/prometheus.yml',
  );
  const job = config.scrape_configs.find((c) => c.job_name === 'governor');
  assert.ok(job, 'no governor job');
  const { port } = loadConfig({ GOVERNOR_NODE_NAME: 'config-test' }, REPO_ROOT);
  for (const target of job.static_configs.flatMap((c) => c.targets)) assert.match(target, new RegExp(`:${port}$`));
  const globs = config.rule_files.map((glob) => new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`));
  const loaded = (file: string): boolean => globs.some((glob) => glob.test(file));
  assert.ok(loaded('rules/governor.rules.yml'));
  assert.ok(!loaded('rules/governor.rules.test.yml'));
});

test('mounts the Prometheus config and the Grafana provisioning and dashboards where they are read', () => {
  type Service = { image: string; volumes?: string[] };
  const compose = readYaml<{ services: Record<string, Service> }>('docker-compose.yml');
  const mounts = (service: string): Map<string, string> =>
    new Map((compose.services[service]?.volumes ?? []).map((volume) => volume.split(':')).map(([source, target]) => [source, target]));
  const provider = readYaml<{ providers: Array<{ options: { path: string } }> }>('config/grafana/provisioning/dashboards/governor.yml');
  assert.equal(mounts('prometheus').get('./config/prometheus'), '/etc/prometheus');
  assert.equal(mounts('grafana').get('./config/grafana/provisioning'), '/etc/grafana/provisioning');
  assert.equal(mounts('grafana').get('./config/grafana/dashboards'), provider.providers[0].options.path);
});
