import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { dump, load } from 'js-yaml';
import { ConnectionError, UsageError } from './cli.errors';

/** One named place to talk to: a server and the admin token or tenant key to use there. */
export interface Context {
  name: string;
  server: string;
  token: string;
}

/** ~/.config/governor/config.yaml, kubectl style: named contexts and the one in use. */
export interface GovctlConfig {
  currentContext?: string;
  contexts: Context[];
}

export interface Connection {
  server: string;
  token: string;
  /** the context the server or token came from, if any */
  context?: string;
}

export interface ConnectionFlags {
  server?: string;
  token?: string;
  context?: string;
}

/** `$XDG_CONFIG_HOME/governor/config.yaml`, by default under ~/.config; GOVCTL_CONFIG names another file. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GOVCTL_CONFIG) return env.GOVCTL_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'governor', 'config.yaml');
}

/** The file's contexts; a missing file is an empty config. A malformed one is an error naming the file. */
export function readConfig(path: string, warn: (line: string) => void = () => {}): GovctlConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: [] };
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if ((statSync(path).mode & 0o077) !== 0) warn(`warning: ${path} holds tokens and is readable by others; chmod 600 ${path}`);
  let raw: unknown;
  try {
    raw = load(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseConfig(raw, path);
}

export function parseConfig(raw: unknown, path: string): GovctlConfig {
  if (raw === undefined || raw === null) return { contexts: [] };
  const doc = raw as { 'current-context'?: unknown; contexts?: unknown };
  if (typeof raw !== 'object' || (doc.contexts !== undefined && !Array.isArray(doc.contexts))) {
    throw new UsageError(`${path}: expected "current-context" and a list of "contexts"`);
  }
  const contexts = ((doc.contexts as unknown[] | undefined) ?? []).map((entry, i) => {
    const c = entry as Partial<Context> | null;
    if (!c || typeof c.name !== 'string' || typeof c.server !== 'string' || typeof c.token !== 'string') {
      throw new UsageError(`${path}: contexts[${i}] needs a name, a server and a token`);
    }
    return { name: c.name, server: c.server, token: c.token };
  });
  const current = doc['current-context'];
  return { contexts, ...(typeof current === 'string' ? { currentContext: current } : {}) };
}

/** Writes the config with mode 0600 (in a 0700 directory), replacing the file in one rename. */
export function writeConfig(path: string, config: GovctlConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const doc = { ...(config.currentContext ? { 'current-context': config.currentContext } : {}), contexts: config.contexts };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, dump(doc, { lineWidth: -1 }), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Adds or replaces a context and makes it the current one. */
export function withContext(config: GovctlConfig, context: Context): GovctlConfig {
  const known = config.contexts.some((c) => c.name === context.name);
  return {
    currentContext: context.name,
    contexts: known ? config.contexts.map((c) => (c.name === context.name ? context : c)) : [...config.contexts, context],
  };
}

/**
 * Where to connect: each of server and token from a flag, else the environment (GOVERNOR_URL,
 * GOVERNOR_TOKEN), else the context (--context, or the config's current one). --context is a flag too:
 * a context named on the command line beats the environment.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv, config: GovctlConfig): Connection {
  const named = flags.context ?? config.currentContext;
  const context = named === undefined ? undefined : config.contexts.find((c) => c.name === named);
  if (flags.context !== undefined && !context) {
    const known = config.contexts.map((c) => c.name).join(', ') || 'none';
    throw new UsageError(`no context "${flags.context}" in the config (contexts: ${known})`);
  }
  const explicit = flags.context !== undefined;
  const server = flags.server ?? (explicit ? context?.server : undefined) ?? env.GOVERNOR_URL ?? context?.server;
  const token = flags.token ?? (explicit ? context?.token : undefined) ?? env.GOVERNOR_TOKEN ?? context?.token;
  if (!server) throw new ConnectionError('no server: give --server, set GOVERNOR_URL, or run govctl login');
  if (!token) throw new ConnectionError(`no token for ${server}: give --token, set GOVERNOR_TOKEN, or run govctl login`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`the server "${server}" is not a URL such as http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`the server "${server}" must be an http:// or https:// URL`);
  return { server: server.replace(/\/+$/, ''), token, ...(context && (server === context.server || token === context.token) ? { context: context.name } : {}) };
}
