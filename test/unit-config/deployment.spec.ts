import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { CONFIG_KEYS, type GovernorConfig, loadConfig } from '../../apps/governor/src/config/governor.config';
import { REPO_ROOT } from '../support/dashboards';

/**
 * The deployment files against the config validator: every variable they set is one loadConfig reads, and
 * what they set together passes it. Docker Compose cannot run here (no engine, no compose plugin), so
 * docker-compose.yml is checked as YAML, with ${VAR:?…} filled in as an operator would.
 */
const KNOWN = new Set<string>(CONFIG_KEYS);
const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

interface ComposeService {
  image?: string;
  environment?: Record<string, string>;
  privileged?: boolean;
  network_mode?: string;
  volumes?: Array<string | { source: string; target: string }>;
}
/** YAML merge keys (`<<: *anchor`), which Compose honours and js-yaml 5 leaves as a plain "<<" key: own keys win. */
function merged(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(merged);
  if (typeof value !== 'object' || value === null) return value;
  const { '<<': base, ...own } = value as Record<string, unknown>;
  const result: Record<string, unknown> = base === undefined ? {} : { ...(merged(base) as Record<string, unknown>) };
  for (const [key, child] of Object.entries(own)) result[key] = merged(child);
  return result;
}
const compose = merged(load(read('docker-compose.yml'))) as { services: Record<string, ComposeService> };
const governors = Object.entries(compose.services).filter(([, service]) => service.image === 'governor:local');

/** ${NAME:?message} and ${NAME:-default} as `docker compose` would expand them, with a sample for the required ones. */
function expand(value: string): string {
  return String(value).replace(/\$\{(\w+)(?::[?-]([^}]*))?\}/g, (_all, name: string, rest: string | undefined) =>
    /_TOKEN$/.test(name) ? `sample-${name.toLowerCase().replace(/_/g, '-')}-0123456789` : (rest ?? ''),
  );
}

/** KEY=value lines of an env file, as systemd's EnvironmentFile= reads them (no quotes used here). */
function envFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of read(path).split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    assert.ok(match, `${path}: not KEY=value: ${line}`);
    env[match[1]] = match[2];
  }
  return env;
}

/** Environment= lines of a unit, and the EnvironmentFile= it reads. */
function unitEnvironment(path: string): { env: Record<string, string>; files: string[] } {
  const env: Record<string, string> = {};
  const files: string[] = [];
  for (const line of read(path).split('\n')) {
    const set = /^Environment=([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (set) env[set[1]] = set[2];
    const file = /^EnvironmentFile=-?(.*)$/.exec(line);
    if (file) files.push(file[1]);
  }
  return { env, files };
}

test('runs one api and two agents in docker-compose, beside postgres, prometheus and grafana', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['agent-1', 'agent-2', 'api', 'grafana', 'postgres', 'prometheus']);
  assert.deepEqual(
    governors.map(([, service]) => service.environment?.GOVERNOR_ROLE),
    ['api', 'agent', 'agent'],
  );
});

test('sets only variables the config validator knows in docker-compose, and each governor service passes it', () => {
  const configs = new Map<string, GovernorConfig>();
  for (const [name, service] of governors) {
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, expand(value)]));
    for (const key of Object.keys(env)) assert.ok(KNOWN.has(key), `${name} sets ${key}, which the governor does not read`);
    configs.set(name, loadConfig(env, '/opt/governor'));
  }
  const agents = [...configs.entries()].filter(([, config]) => config.role === 'agent');
  assert.deepEqual(
    agents.map(([, config]) => [config.nodeName, config.agentUrl]),
    agents.map(([name]) => [name, `http://${name}:8080`]),
  );
  // Agents on one machine must not share a cgroup root or a run directory.
  assert.equal(new Set(agents.map(([, config]) => config.cgroupRoot)).size, agents.length);
  assert.equal(new Set(agents.map(([, config]) => config.runDir)).size, agents.length);
  assert.equal(new Set([...configs.values()].map((config) => config.agentToken)).size, 1, 'one agent token for the fleet');
  assert.equal(new Set([...configs.values()].map((config) => config.databaseUrl)).size, 1, 'one database for the fleet');
  assert.equal(compose.services.api.privileged, undefined, 'the api touches no host');
});

test('scrapes the api and both agents of docker-compose at their ports', () => {
  const prometheus = load(read('config/prometheus/prometheus.yml')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const targets = prometheus.scrape_configs.find((job) => job.job_name === 'governor')!.static_configs.flatMap((config) => config.targets);
  assert.deepEqual(targets.sort(), governors.map(([name, service]) => `${name}:${service.environment?.GOVERNOR_PORT ?? 8080}`).sort());
});

for (const [unit, example, role] of [
  ['config/systemd/governor-agent.service', 'config/systemd/agent.env.example', 'agent'],
  ['config/systemd/governor-api.service', 'config/systemd/api.env.example', 'api'],
] as const) {
  test(`has ${example} set only known variables, none the unit sets, and pass the validator with the unit's own`, () => {
    const { env: fromUnit, files } = unitEnvironment(unit);
    assert.deepEqual(files, [`/etc/governor/${role}.env`]);
    assert.match(read(unit), new RegExp(`see ${example.split('/').at(-1)!.replace(/\./g, '\\.')}`));
    const fromExample = envFile(example);
    for (const key of [...Object.keys(fromUnit), ...Object.keys(fromExample)]) assert.ok(KNOWN.has(key), `${key} is not a key the governor reads`);
    for (const key of Object.keys(fromExample)) assert.ok(!(key in fromUnit), `${example} sets ${key}, which ${unit} sets already`);
    const config = loadConfig({ ...fromExample, ...fromUnit }, '/opt/governor');
    assert.equal(config.role, role);
  });
}

test('points the agent at the tenants unit cgroup, never at its own: systemd 252 could not restart it there', () => {
  // test/deploy/systemd.sh --single-unit: with ROOT the agent unit's own cgroup, a restart once ROOT hands a
  // controller down ends in "Failed to attach to cgroup /system.slice/governor-agent.service: Device or resource
  // busy" and status 219/CGROUP (README "Deployment").
  const root = unitEnvironment('config/systemd/governor-agent.service').env.GOVERNOR_CGROUP_ROOT;
  assert.equal(root, '/sys/fs/cgroup/system.slice/governor-tenants.service');
  assert.match(read('config/systemd/governor-agent.service'), /^BindsTo=governor-tenants\.service$/m);
  const tenants = read('config/systemd/governor-tenants.service');
  assert.match(tenants, /^Delegate=yes$/m);
  assert.match(tenants, /^ExecStart=.*"\$cg\/keeper\/cgroup\.procs"/m);
});
