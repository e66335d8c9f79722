import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableParallelism } from 'node:os';
import { CONFIG_KEYS, ConfigError, loadConfig } from './governor.config';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({}, '/srv/governor');
    assert.equal(config.role, 'all');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8080);
    assert.equal(config.dataDir, '/srv/governor/var');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.adminToken, undefined);
    assert.equal(config.cgroupRoot, undefined);
    assert.equal(config.runDir, '/run/governor');
    assert.equal(config.resyncIntervalMs, 30_000);
    assert.equal(config.heartbeatIntervalMs, 10_000);
    assert.equal(config.usageSampleIntervalMs, 15_000);
    assert.equal(config.fullCheckIntervalMs, 600_000);
    assert.equal(config.authCacheTtlMs, 5000);
    assert.equal(config.reconcileWorkers, Math.min(64, availableParallelism() * 4));
    assert.equal(config.agentToken, undefined);
    assert.equal(config.agentUrl, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.tls, undefined);
    assert.deepEqual(config.overcommit, { cpus: 1, memory: 1 });
    assert.ok(config.nodeName.length > 0);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      GOVERNOR_ROLE: 'agent',
      GOVERNOR_HOST: '0.0.0.0',
      GOVERNOR_PORT: '9000',
      GOVERNOR_ADMIN_TOKEN: 'a-long-enough-token',
      DATABASE_URL: 'postgres://u@db/governor',
      GOVERNOR_DATA_DIR: '/var/lib/governor',
      GOVERNOR_CGROUP_ROOT: '/sys/fs/cgroup/governor',
      GOVERNOR_RUN_DIR: '/run/gov',
      GOVERNOR_UID_POOL: '1879048192-1879703551',
      GOVERNOR_NET_POOL: '10.9.0.0/24,/30',
      GOVERNOR_NET6_PREFIX: 'fd00:6776::/96',
      GOVERNOR_FIREWALL_TABLE: 'gov_test',
      GOVERNOR_NODE_NAME: 'Node-1',
      GOVERNOR_RESYNC_INTERVAL: '5m',
      GOVERNOR_RECONCILE_WORKERS: '12',
      GOVERNOR_AUTH_FAILURES: '5/30s',
      GOVERNOR_AUTH_CACHE_TTL: '2s',
      GOVERNOR_TRUSTED_PROXIES: '10.0.0.0/8',
      GOVERNOR_LOG_LEVEL: 'debug',
      GOVERNOR_RETENTION: '90d',
      GOVERNOR_WORKLOAD_LOG_RETENTION: '2d',
      GOVERNOR_TLS_CERT: '/etc/c.pem',
      GOVERNOR_TLS_KEY: '/etc/k.pem',
      GOVERNOR_METRICS_TOKEN: 'a-long-metrics-token',
      GOVERNOR_HEARTBEAT_INTERVAL: '3s',
      GOVERNOR_USAGE_SAMPLE_INTERVAL: '5s',
      GOVERNOR_FULL_CHECK_INTERVAL: '0s',
      GOVERNOR_AGENT_TOKEN: 'a-long-agent-token',
      GOVERNOR_AGENT_CA: '/etc/agent-ca.pem',
      GOVERNOR_AGENT_URL: 'https://node-1.example:8443/',
      GOVERNOR_OVERCOMMIT: 'cpus=4,memory=1.25',
      GOVERNOR_SYSTEM_RESERVED: 'cpus=1,memory=1Gi',
    });
    assert.deepEqual(
      { ...config },
      {
        role: 'agent',
        host: '0.0.0.0',
        port: 9000,
        adminToken: 'a-long-enough-token',
        databaseUrl: 'postgres://u@db/governor',
        dataDir: '/var/lib/governor',
        cgroupRoot: '/sys/fs/cgroup/governor',
        runDir: '/run/gov',
        uidPool: { start: 1879048192, end: 1879048192 + 10 * 65536 },
        netPool: { network: 10 * 2 ** 24 + 9 * 2 ** 16, poolPrefix: 24, blockPrefix: 30 },
        net6Prefix: [0xfd00, 0x6776, 0, 0, 0, 0],
        firewallTable: 'gov_test',
        nodeName: 'node-1',
        authFailures: { limit: 5, windowMs: 30_000 },
        authCacheTtlMs: 2000,
        trustedProxies: [{ family: 'ipv4', address: '10.0.0.0', prefix: 8 }],
        resyncIntervalMs: 300_000,
        reconcileWorkers: 12,
        heartbeatIntervalMs: 3000,
        usageSampleIntervalMs: 5000,
        fullCheckIntervalMs: 0,
        agentToken: 'a-long-agent-token',
        agentCaFile: '/etc/agent-ca.pem',
        agentUrl: 'https://node-1.example:8443',
        logLevel: 'debug',
        retentionMs: 90 * 86_400_000,
        workloadLogRetentionMs: 2 * 86_400_000,
        tls: { certFile: '/etc/c.pem', keyFile: '/etc/k.pem' },
        metricsToken: 'a-long-metrics-token',
        metricsPublic: false,
        overcommit: { cpus: 4, memory: 1.25 },
        systemReserved: { cpus: 1, memoryBytes: 2 ** 30 },
      },
    );
  });

  it('names every bad variable in one error', () => {
    assert.throws(
      () =>
        loadConfig({
          GOVERNOR_PORT: '70000',
          GOVERNOR_ROLE: 'boss',
          GOVERNOR_RESYNC_INTERVAL: '10',
          GOVERNOR_ADMIN_TOKEN: 'short',
          DATABASE_URL: 'mysql://x',
          GOVERNOR_CGROUP_ROOT: '/sys/fs/cgroup/../etc',
          GOVERNOR_NODE_NAME: 'bad node',
          GOVERNOR_TLS_CERT: '/c.pem',
          GOVERNOR_UID_POOL: '5-10',
          GOVERNOR_NET_POOL: '10.0.0.1/8',
          GOVERNOR_NET6_PREFIX: 'fd00::/64',
          GOVERNOR_AUTH_FAILURES: '0/1m',
          GOVERNOR_TRUSTED_PROXIES: '10.0.0.0/8, proxy.example',
          GOVERNOR_HEARTBEAT_INTERVAL: '10m',
          GOVERNOR_AGENT_TOKEN: 'short',
          GOVERNOR_AGENT_URL: 'node-1:8080',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const keys = err.problems.map((p) => /^[A-Z0-9_]+/.exec(p)?.[0]);
        assert.deepEqual(keys.sort(), [
          'DATABASE_URL',
          'GOVERNOR_ADMIN_TOKEN',
          'GOVERNOR_AGENT_TOKEN',
          'GOVERNOR_AGENT_URL',
          'GOVERNOR_AUTH_FAILURES',
          'GOVERNOR_CGROUP_ROOT',
          'GOVERNOR_HEARTBEAT_INTERVAL',
          'GOVERNOR_NET6_PREFIX',
          'GOVERNOR_NET_POOL',
          'GOVERNOR_NODE_NAME',
          'GOVERNOR_PORT',
          'GOVERNOR_RESYNC_INTERVAL',
          'GOVERNOR_ROLE',
          'GOVERNOR_TLS_CERT',
          'GOVERNOR_TRUSTED_PROXIES',
          'GOVERNOR_UID_POOL',
        ]);
        return true;
      },
    );
  });

  it('requires an agent token in role agent, and no other role', () => {
    assert.throws(() => loadConfig({ GOVERNOR_ROLE: 'agent' }), /GOVERNOR_AGENT_TOKEN: required in role agent/);
    assert.equal(loadConfig({ GOVERNOR_ROLE: 'api' }).agentToken, undefined);
    assert.equal(loadConfig({ GOVERNOR_ROLE: 'agent', GOVERNOR_AGENT_TOKEN: 'sixteen-chars-ok' }).role, 'agent');
  });

  it('bounds the heartbeat interval from 1s to 5m, and refuses an agent URL with a path', () => {
    assert.throws(() => loadConfig({ GOVERNOR_HEARTBEAT_INTERVAL: '500ms' }), /GOVERNOR_HEARTBEAT_INTERVAL="500ms": .*from 1s to 5m/);
    assert.throws(() => loadConfig({ GOVERNOR_HEARTBEAT_INTERVAL: '6m' }), /GOVERNOR_HEARTBEAT_INTERVAL="6m": .*from 1s to 5m/);
    assert.throws(() => loadConfig({ GOVERNOR_AGENT_URL: 'http://node-1:8080/agent' }), /GOVERNOR_AGENT_URL=.*no path/);
    assert.throws(() => loadConfig({ GOVERNOR_AGENT_URL: 'ftp://node-1' }), /GOVERNOR_AGENT_URL=/);
  });

  it('bounds the reconcile workers from 1 to 128, naming the key', () => {
    for (const bad of ['0', '129', '-1', '2.5', 'many', '1e2']) {
      assert.throws(() => loadConfig({ GOVERNOR_RECONCILE_WORKERS: bad }), /GOVERNOR_RECONCILE_WORKERS=.*from 1 to 128/);
    }
    assert.equal(loadConfig({ GOVERNOR_RECONCILE_WORKERS: '1' }).reconcileWorkers, 1);
    assert.equal(loadConfig({ GOVERNOR_RECONCILE_WORKERS: '128' }).reconcileWorkers, 128);
  });

  it('reads GOVERNOR_SYSTEM_RESERVED as nothing by default, and names it when it is not cpus=N,memory=SIZE', () => {
    assert.deepEqual(loadConfig({}).systemReserved, { cpus: 0, memoryBytes: 0 });
    assert.throws(
      () => loadConfig({ GOVERNOR_SYSTEM_RESERVED: 'memory=lots' }),
      /GOVERNOR_SYSTEM_RESERVED="memory=lots": must be cpus=<whole CPUs>,memory=<size/,
    );
  });

  it('reads GOVERNOR_OVERCOMMIT as false, true, one ratio of at least 1, or a ratio per resource', () => {
    assert.deepEqual(loadConfig({ GOVERNOR_OVERCOMMIT: 'false' }).overcommit, { cpus: 1, memory: 1 });
    assert.deepEqual(loadConfig({ GOVERNOR_OVERCOMMIT: 'true' }).overcommit, { cpus: Infinity, memory: Infinity });
    assert.deepEqual(loadConfig({ GOVERNOR_OVERCOMMIT: '1.5' }).overcommit, { cpus: 1.5, memory: 1.5 });
    assert.deepEqual(loadConfig({ GOVERNOR_OVERCOMMIT: 'cpus=true' }).overcommit, { cpus: Infinity, memory: 1 });
    for (const bad of ['0.5', 'yes', 'cpus=2,cpus=3', 'disk=2', 'memory=', '-1']) {
      assert.throws(() => loadConfig({ GOVERNOR_OVERCOMMIT: bad }), /GOVERNOR_OVERCOMMIT=.*must be false, true, a ratio of at least 1/, bad);
    }
  });

  it('reads exactly the variables CONFIG_KEYS lists', () => {
    const read = new Set<string>();
    const env: NodeJS.ProcessEnv = new Proxy(
      {},
      {
        get: (_target, key) => {
          if (typeof key === 'string') read.add(key);
          return undefined;
        },
      },
    );
    loadConfig(env, '/srv/governor');
    assert.deepEqual([...read].sort(), [...CONFIG_KEYS].sort());
  });

  it('reads an auth cache TTL of 0 as the cache turned off', () => {
    assert.equal(loadConfig({ GOVERNOR_AUTH_CACHE_TTL: '0s' }).authCacheTtlMs, 0);
  });

  it('refuses a resync interval under one second', () => {
    assert.throws(() => loadConfig({ GOVERNOR_RESYNC_INTERVAL: '500ms' }), /GOVERNOR_RESYNC_INTERVAL="500ms"/);
  });

  it('bounds every duration, naming the key and the allowed range', () => {
    for (const [env, range] of [
      [{ GOVERNOR_RESYNC_INTERVAL: '25d' }, /GOVERNOR_RESYNC_INTERVAL="25d": .*from 1s to 2147483647ms/],
      [{ GOVERNOR_RESYNC_INTERVAL: '2147483648ms' }, /GOVERNOR_RESYNC_INTERVAL="2147483648ms": .*longest timer/],
      [{ GOVERNOR_RETENTION: '3651d' }, /GOVERNOR_RETENTION="3651d": .*from 1h to 3650d/],
      [{ GOVERNOR_RETENTION: '30m' }, /GOVERNOR_RETENTION="30m": .*from 1h to 3650d/],
      [{ GOVERNOR_WORKLOAD_LOG_RETENTION: '10s' }, /GOVERNOR_WORKLOAD_LOG_RETENTION="10s": .*from 1m to 3650d/],
      [{ GOVERNOR_WORKLOAD_LOG_RETENTION: '99999999999999d' }, /GOVERNOR_WORKLOAD_LOG_RETENTION=.*from 1m to 3650d/],
      [{ GOVERNOR_AUTH_FAILURES: '5/2d' }, /GOVERNOR_AUTH_FAILURES="5\/2d": .*from 1s to 1d/],
      [{ GOVERNOR_AUTH_CACHE_TTL: '2m' }, /GOVERNOR_AUTH_CACHE_TTL="2m": .*from 0s to 1m/],
    ] as const) {
      assert.throws(() => loadConfig(env), range);
    }
  });

  it('reads durations with the one parser of the domain: any of us, ms, s, m, h, d, with decimals', () => {
    assert.equal(loadConfig({ GOVERNOR_RESYNC_INTERVAL: '2147483647ms' }).resyncIntervalMs, 2 ** 31 - 1);
    assert.equal(loadConfig({ GOVERNOR_RESYNC_INTERVAL: '1.5m' }).resyncIntervalMs, 90_000);
    assert.equal(loadConfig({ GOVERNOR_RETENTION: '1.5h' }).retentionMs, 5_400_000);
    assert.deepEqual(loadConfig({ GOVERNOR_AUTH_FAILURES: '10/1.5m' }).authFailures, { limit: 10, windowMs: 90_000 });
    assert.throws(() => loadConfig({ GOVERNOR_RESYNC_INTERVAL: '1500500us' }), /whole number of milliseconds/);
  });
});
