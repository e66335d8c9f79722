import { availableParallelism, hostname } from 'node:os';
import { DEFAULT_NET_POOL, DEFAULT_UID_POOL, type NetPool, parseNetPool, parseUidPool, type UidPool } from '../../../../libs/persistence/src/allocation';
import { resolve } from 'node:path';
import { parseIpv6Prefix } from '../../../../libs/network/src/ipv6';
import { type Cidr, parseTrustedProxies } from '../auth/client-address';
import type { FieldError } from '../../../../libs/domain/src/errors';
import { msRange, parseMilliseconds, TIMER_MAX_MS } from '../../../../libs/domain/src/duration';
import { type Overcommit, parseOvercommit, parseSystemReservation, type SystemReservation } from '../admission/admission.rules';

export type GovernorRole = 'all' | 'api' | 'agent';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every setting of the service, validated once at boot. Nothing else reads process.env. */
export interface GovernorConfig {
  role: GovernorRole;
  host: string;
  port: number;
  /** the root admin token from GOVERNOR_ADMIN_TOKEN; when absent one is generated at first start */
  adminToken: string | undefined;
  /** a PostgreSQL URL; when absent Governor runs its own PostgreSQL server in <dataDir>/postgres */
  databaseUrl: string | undefined;
  dataDir: string;
  /** absolute cgroup v2 directory that Governor owns; undefined means "<cgroup2 mount>/governor" */
  cgroupRoot: string | undefined;
  /** runtime state that must not outlive a reboot: namespace bind mounts, workload monitors (/run/governor) */
  runDir: string;
  /** host uids (and gids) handed to tenants, 65536 each */
  uidPool: UidPool;
  /** addresses for tenant links, one /31 (or /30) each */
  netPool: NetPool;
  /**
   * the /96 (as six hextets) whose low 32 bits take each tenant's IPv4 addresses to give its link IPv6;
   * undefined (the default) leaves IPv6 off on tenant links
   */
  net6Prefix: number[] | undefined;
  /** the nftables table (inet family) this governor owns */
  firewallTable: string;
  nodeName: string;
  /** failed authentications one client may make per window before it gets 429 (GOVERNOR_AUTH_FAILURES, "20/1m") */
  authFailures: { limit: number; windowMs: number };
  /**
   * GOVERNOR_AUTH_CACHE_TTL (5s, 0 to 60s; 0 turns the cache off): how long an admin token verified against its
   * row is believed without asking PostgreSQL again. A revocation clears it at once on the replica that
   * revoked, and on the others when its NOTIFY arrives; this is the bound when that NOTIFY is missed.
   */
  authCacheTtlMs: number;
  /** GOVERNOR_TRUSTED_PROXIES: peers whose X-Forwarded-For is believed; empty (the default) believes none */
  trustedProxies: Cidr[];
  resyncIntervalMs: number;
  /**
   * GOVERNOR_RECONCILE_WORKERS: how many tenants are reconciled at once (1 to 128; default the number of
   * CPUs × 4, at most 64, since most of a tenant's reconcile waits on the kernel, not on a CPU)
   */
  reconcileWorkers: number;
  /**
   * GOVERNOR_USAGE_SAMPLE_INTERVAL (15s, 1s to 5m): the step of a tenant's usage history (its charts) and how
   * soon an OOM kill or a throttling episode becomes an event. 15 s is Prometheus' default scrape interval; each
   * sample reads four cgroup files of every tenant, so at 1,000 tenants a 5 s step alone costs an idle
   * governor more than the resync does.
   */
  usageSampleIntervalMs: number;
  /**
   * GOVERNOR_FULL_CHECK_INTERVAL (10m, 0s to 1d): how long a resync may skip a tenant found in sync that nothing
   * has touched since (no write to its cgroup directory, no change to its links, addresses, routes, qdiscs or
   * namespaces' mounts, its init alive): every tenant is still read in full at least this often. 0s reads every
   * tenant in full on every resync.
   */
  fullCheckIntervalMs: number;
  /** how often an agent writes its heartbeat (GOVERNOR_HEARTBEAT_INTERVAL, 10s); older than two of them, the node is NotReady */
  heartbeatIntervalMs: number;
  /**
   * GOVERNOR_AGENT_TOKEN: the bearer token of the internal agent API, shared by the API replicas and the agents.
   * Required in role agent; in role all the agent API is served only when it is set.
   */
  agentToken: string | undefined;
  /** GOVERNOR_AGENT_URL: where API replicas reach this agent's API; unset, the address it listens on is registered */
  agentUrl: string | undefined;
  logLevel: LogLevel;
  /** how long the quota ledger and the audit log are kept */
  retentionMs: number;
  /** how long an ended workload's logs and exit status stay under runDir/workloads (GOVERNOR_WORKLOAD_LOG_RETENTION, 7d) */
  workloadLogRetentionMs: number;
  tls: { certFile: string; keyFile: string } | undefined;
  /** role api: a PEM file of the CA(s) that agents' https certificates are verified against, instead of Node's default list; read and checked at boot */
  agentCaFile: string | undefined;
  /**
   * GOVERNOR_METRICS_TOKEN: the bearer token GET /metrics needs. Unset, one is generated at first start into
   * <data dir>/metrics-token (0600), unless metricsPublic
   */
  metricsToken: string | undefined;
  /** GOVERNOR_METRICS_PUBLIC=true: /metrics needs no token (for a scrape path that is private by other means) */
  metricsPublic: boolean;
  /**
   * GOVERNOR_OVERCOMMIT: how far the guarantees (memory.min, cpuset CPUs) placed on a node may exceed its
   * capacity, per resource as a ratio; Infinity turns admission off. Default 1: not at all
   */
  overcommit: Overcommit;
  /**
   * GOVERNOR_SYSTEM_RESERVED (agent): CPUs and memory this node keeps for its own system. The agent registers
   * it on its node, and admission takes it off the node's capacity. Default nothing
   */
  systemReserved: SystemReservation;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Every environment variable loadConfig reads; deployment files (env examples, docker-compose) set no other. */
export const CONFIG_KEYS = [
  'DATABASE_URL',
  'GOVERNOR_ADMIN_TOKEN',
  'GOVERNOR_AGENT_CA',
  'GOVERNOR_AGENT_TOKEN',
  'GOVERNOR_AGENT_URL',
  'GOVERNOR_AUTH_FAILURES',
  'GOVERNOR_AUTH_CACHE_TTL',
  'GOVERNOR_CGROUP_ROOT',
  'GOVERNOR_DATA_DIR',
  'GOVERNOR_FIREWALL_TABLE',
  'GOVERNOR_FULL_CHECK_INTERVAL',
  'GOVERNOR_HEARTBEAT_INTERVAL',
  'GOVERNOR_HOST',
  'GOVERNOR_LOG_LEVEL',
  'GOVERNOR_METRICS_PUBLIC',
  'GOVERNOR_METRICS_TOKEN',
  'GOVERNOR_NET6_PREFIX',
  'GOVERNOR_NET_POOL',
  'GOVERNOR_NODE_NAME',
  'GOVERNOR_OVERCOMMIT',
  'GOVERNOR_SYSTEM_RESERVED',
  'GOVERNOR_PORT',
  'GOVERNOR_RECONCILE_WORKERS',
  'GOVERNOR_RESYNC_INTERVAL',
  'GOVERNOR_RETENTION',
  'GOVERNOR_ROLE',
  'GOVERNOR_RUN_DIR',
  'GOVERNOR_TLS_CERT',
  'GOVERNOR_TLS_KEY',
  'GOVERNOR_TRUSTED_PROXIES',
  'GOVERNOR_UID_POOL',
  'GOVERNOR_USAGE_SAMPLE_INTERVAL',
  'GOVERNOR_WORKLOAD_LOG_RETENTION',
] as const;

const ROLES: readonly GovernorRole[] = ['all', 'api', 'agent'];
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const DAY_MS = 86_400_000;
/**
 * Every duration key and what it allows. Intervals feed setInterval, which fires every 1 ms past
 * TIMER_MAX_MS; ages only move a cutoff in SQL, so ten years bound them instead.
 */
const DURATIONS = {
  GOVERNOR_RESYNC_INTERVAL: { fallback: '30s', range: msRange(1000, TIMER_MAX_MS, 'about 24.8 days, the longest timer Node.js can set') },
  GOVERNOR_HEARTBEAT_INTERVAL: { fallback: '10s', range: msRange(1000, 300_000) },
  GOVERNOR_AUTH_CACHE_TTL: { fallback: '5s', range: msRange(0, 60_000) },
  GOVERNOR_RETENTION: { fallback: '365d', range: msRange(3_600_000, 3650 * DAY_MS) },
  GOVERNOR_WORKLOAD_LOG_RETENTION: { fallback: '7d', range: msRange(60_000, 3650 * DAY_MS) },
  GOVERNOR_USAGE_SAMPLE_INTERVAL: { fallback: '15s', range: msRange(1000, 300_000) },
  GOVERNOR_FULL_CHECK_INTERVAL: { fallback: '10m', range: msRange(0, DAY_MS) },
} as const;
const AUTH_WINDOW = msRange(1000, DAY_MS);
/**
 * Each worker has at most one native call in flight; past 32 in flight they wait in the process's koffi gate
 * (koffi-runtime.ts), so more workers only overlap more database and netlink waits. The default stops at 64:
 * past that, workers only contend for the same cores and PostgreSQL connections.
 */
const MAX_RECONCILE_WORKERS = 128;
const DEFAULT_RECONCILE_WORKERS_CAP = 64;

/**
 * Reads the environment into one typed object. Every bad variable is named in one error, so that an
 * operator fixes them all in one go rather than one restart at a time.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): GovernorConfig {
  const problems: string[] = [];
  const text = (key: string): string | undefined => {
    const value = env[key];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const value = text(key);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problems.push(`${key}=${JSON.stringify(value)}: must be one of ${allowed.join(', ')}`);
    return fallback;
  };
  const duration = (key: keyof typeof DURATIONS): number => {
    const { fallback, range } = DURATIONS[key];
    const value = text(key) ?? fallback;
    const errors: FieldError[] = [];
    const ms = parseMilliseconds(value, key, errors, range);
    if (ms === undefined) {
      problems.push(`${key}=${JSON.stringify(value)}: ${errors[0].message}`);
      return parseMilliseconds(fallback, key, [], range)!;
    }
    return ms;
  };

  const portText = text('GOVERNOR_PORT') ?? '8080';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) problems.push(`GOVERNOR_PORT=${JSON.stringify(portText)}: must be a TCP port, 0 to 65535 (0 picks a free one)`);

  const adminToken = text('GOVERNOR_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 16) {
    problems.push('GOVERNOR_ADMIN_TOKEN: must be at least 16 characters (unset it to have one generated)');
  }

  const databaseUrl = text('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL (unset it to use the embedded database)');
  }

  const cgroupRoot = text('GOVERNOR_CGROUP_ROOT');
  if (cgroupRoot !== undefined && (!cgroupRoot.startsWith('/') || cgroupRoot.split('/').includes('..'))) {
    problems.push(`GOVERNOR_CGROUP_ROOT=${JSON.stringify(cgroupRoot)}: must be an absolute path without ".." components`);
  }

  const runDir = text('GOVERNOR_RUN_DIR') ?? '/run/governor';
  if (!runDir.startsWith('/') || runDir.split('/').includes('..')) {
    problems.push(`GOVERNOR_RUN_DIR=${JSON.stringify(runDir)}: must be an absolute path without ".." components`);
  }

  const pool = <T>(key: string, fallback: string, parse: (text: string) => T): T => {
    const value = text(key) ?? fallback;
    try {
      return parse(value);
    } catch (err) {
      problems.push(`${key}=${JSON.stringify(value)}: ${(err as Error).message}`);
      return parse(fallback);
    }
  };
  const uidPool = pool('GOVERNOR_UID_POOL', DEFAULT_UID_POOL, parseUidPool);
  const netPool = pool('GOVERNOR_NET_POOL', DEFAULT_NET_POOL, parseNetPool);
  const net6Text = text('GOVERNOR_NET6_PREFIX');
  let net6Prefix: number[] | undefined;
  try {
    net6Prefix = net6Text === undefined ? undefined : parseIpv6Prefix(net6Text);
  } catch (err) {
    problems.push(`GOVERNOR_NET6_PREFIX=${JSON.stringify(net6Text)}: ${(err as Error).message}`);
  }

  const firewallTable = text('GOVERNOR_FIREWALL_TABLE') ?? 'governor';
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(firewallTable)) {
    problems.push(`GOVERNOR_FIREWALL_TABLE=${JSON.stringify(firewallTable)}: must be 1 to 31 characters of a-z, 0-9 and _, starting with a letter`);
  }

  const nodeName = (text('GOVERNOR_NODE_NAME') ?? hostname()).toLowerCase();
  if (!NODE_NAME.test(nodeName)) {
    problems.push(
      `GOVERNOR_NODE_NAME=${JSON.stringify(nodeName)}: must be 1 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit`,
    );
  }

  const workersText = text('GOVERNOR_RECONCILE_WORKERS');
  const defaultWorkers = Math.min(DEFAULT_RECONCILE_WORKERS_CAP, availableParallelism() * 4);
  let reconcileWorkers = workersText === undefined ? defaultWorkers : Number(workersText);
  if (!/^\d{1,3}$/.test(workersText ?? '1') || !(reconcileWorkers >= 1 && reconcileWorkers <= MAX_RECONCILE_WORKERS)) {
    problems.push(
      `GOVERNOR_RECONCILE_WORKERS=${JSON.stringify(workersText)}: must be a whole number from 1 to ${MAX_RECONCILE_WORKERS} (unset: the number of CPUs × 4, at most 64: ${defaultWorkers} here)`,
    );
    reconcileWorkers = defaultWorkers;
  }

  const metricsToken = text('GOVERNOR_METRICS_TOKEN');
  if (metricsToken !== undefined && (metricsToken.length < 16 || /\s/.test(metricsToken))) {
    problems.push('GOVERNOR_METRICS_TOKEN: must be at least 16 characters without blanks (unset it to have one generated)');
  }
  const metricsPublicText = text('GOVERNOR_METRICS_PUBLIC') ?? 'false';
  if (!['true', 'false'].includes(metricsPublicText)) problems.push(`GOVERNOR_METRICS_PUBLIC=${JSON.stringify(metricsPublicText)}: must be true or false`);
  if (metricsPublicText === 'true' && metricsToken !== undefined)
    problems.push('GOVERNOR_METRICS_PUBLIC=true and GOVERNOR_METRICS_TOKEN: set one or the other');

  const authFailuresText = text('GOVERNOR_AUTH_FAILURES') ?? '20/1m';
  const authMatch = /^(\d{1,6})\/(.+)$/.exec(authFailuresText);
  const windowErrors: FieldError[] = [];
  const authFailures = { limit: Number(authMatch?.[1]), windowMs: parseMilliseconds(authMatch?.[2], 'window', windowErrors, AUTH_WINDOW) ?? NaN };
  if (!(authFailures.limit >= 1) || windowErrors.length > 0) {
    problems.push(
      `GOVERNOR_AUTH_FAILURES=${JSON.stringify(authFailuresText)}: must be <count>/<window>, a count of at least 1 and a window from 1s to 1d, e.g. 20/1m` +
        (windowErrors.length > 0 && authMatch ? `; the window ${windowErrors[0].message}` : ''),
    );
  }

  const trustedProxiesText = text('GOVERNOR_TRUSTED_PROXIES') ?? '';
  let trustedProxies: Cidr[] = [];
  try {
    trustedProxies = parseTrustedProxies(trustedProxiesText);
  } catch (err) {
    problems.push(`GOVERNOR_TRUSTED_PROXIES=${JSON.stringify(trustedProxiesText)}: ${(err as Error).message}`);
  }

  const role = oneOf('GOVERNOR_ROLE', ROLES, 'all');
  const agentToken = text('GOVERNOR_AGENT_TOKEN');
  if (agentToken !== undefined && (agentToken.length < 16 || /\s/.test(agentToken))) {
    problems.push('GOVERNOR_AGENT_TOKEN: must be at least 16 characters without blanks, the same on every API replica and agent');
  } else if (agentToken === undefined && role === 'agent') {
    problems.push('GOVERNOR_AGENT_TOKEN: required in role agent (the API replicas call its agent API with it); at least 16 characters without blanks');
  }
  const agentUrl = text('GOVERNOR_AGENT_URL');
  if (agentUrl !== undefined && !isHttpUrl(agentUrl)) {
    problems.push(
      `GOVERNOR_AGENT_URL=${JSON.stringify(agentUrl)}: must be an http:// or https:// URL with a host and no path, e.g. https://node-1.example:8080`,
    );
  }

  const overcommitText = text('GOVERNOR_OVERCOMMIT');
  let overcommit: Overcommit = parseOvercommit(undefined);
  try {
    overcommit = parseOvercommit(overcommitText);
  } catch (err) {
    problems.push(`GOVERNOR_OVERCOMMIT=${JSON.stringify(overcommitText)}: ${(err as Error).message}`);
  }
  const reservedText = text('GOVERNOR_SYSTEM_RESERVED');
  let systemReserved: SystemReservation = parseSystemReservation(undefined);
  try {
    systemReserved = parseSystemReservation(reservedText);
  } catch (err) {
    problems.push(`GOVERNOR_SYSTEM_RESERVED=${JSON.stringify(reservedText)}: ${(err as Error).message}`);
  }

  const certFile = text('GOVERNOR_TLS_CERT');
  const keyFile = text('GOVERNOR_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push('GOVERNOR_TLS_CERT and GOVERNOR_TLS_KEY: set both or neither');
  }

  const config: GovernorConfig = {
    role,
    host: text('GOVERNOR_HOST') ?? '127.0.0.1',
    port,
    adminToken,
    databaseUrl,
    dataDir: resolve(cwd, text('GOVERNOR_DATA_DIR') ?? 'var'),
    cgroupRoot,
    runDir,
    uidPool,
    netPool,
    net6Prefix,
    firewallTable,
    nodeName,
    authFailures,
    trustedProxies,
    authCacheTtlMs: duration('GOVERNOR_AUTH_CACHE_TTL'),
    resyncIntervalMs: duration('GOVERNOR_RESYNC_INTERVAL'),
    reconcileWorkers,
    heartbeatIntervalMs: duration('GOVERNOR_HEARTBEAT_INTERVAL'),
    usageSampleIntervalMs: duration('GOVERNOR_USAGE_SAMPLE_INTERVAL'),
    fullCheckIntervalMs: duration('GOVERNOR_FULL_CHECK_INTERVAL'),
    agentToken,
    agentUrl: agentUrl?.replace(/\/$/, ''),
    logLevel: oneOf('GOVERNOR_LOG_LEVEL', LOG_LEVELS, 'info'),
    retentionMs: duration('GOVERNOR_RETENTION'),
    workloadLogRetentionMs: duration('GOVERNOR_WORKLOAD_LOG_RETENTION'),
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    agentCaFile: text('GOVERNOR_AGENT_CA'),
    metricsToken,
    metricsPublic: metricsPublicText === 'true',
    overcommit,
    systemReserved,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.pathname === '/' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

/** The injection token under which the validated config is provided. */
export const GOVERNOR_CONFIG = Symbol('GOVERNOR_CONFIG');
