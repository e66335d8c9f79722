import { constants } from 'node:os';
import type { Command } from 'commander';
import { segment } from './api.client';
import { ACTIVE_WORKLOAD_STATES, type Workload } from './api.types';
import type { Cli } from './cli.context';
import { ExitCode, UsageError } from './cli.errors';
import { examples } from './help.text';
import { followOutput, type LogCursors } from './log.follow';
import { formatAge } from './quantity.format';
import { type Column, renderTable } from './table.format';

const WORKLOAD_COLUMNS: Array<Column<Workload>> = [
  { header: 'ID', value: (w) => w.id },
  { header: 'STATE', value: (w) => w.state },
  { header: 'PID', value: (w) => (w.pid === null ? '-' : String(w.pid)) },
  { header: 'EXIT', value: (w) => w.signal ?? (w.exitCode === null ? '-' : String(w.exitCode)) },
  { header: 'AGE', value: (w) => formatAge(w.createdAt) },
  { header: 'COMMAND', value: (w) => w.command.join(' '), flex: true },
  { header: 'NODE', value: (w) => w.node, wide: true },
  { header: 'CREATED BY', value: (w) => w.createdBy, wide: true },
  { header: 'FINISHED', value: (w) => w.finishedAt ?? '-', wide: true },
  { header: 'MESSAGE', value: (w) => w.message ?? '-', wide: true, flex: true },
];

/** The exit status a shell would report for the workload: its code, or 128 + the signal that ended it. */
export function exitStatusOf(workload: Workload): number {
  if (workload.state === 'exited' && workload.exitCode !== null) return workload.exitCode;
  if (workload.signal) return 128 + (constants.signals[workload.signal as NodeJS.Signals] ?? 0);
  if (workload.state === 'oom-killed' || workload.state === 'killed') return 128 + constants.signals.SIGKILL;
  return ExitCode.API_ERROR;
}

function parseEnv(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env takes NAME=VALUE; got "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

export function registerWorkloads(program: Command, cli: Cli): void {
  examples(
    program
      .command('run')
      .summary('Start a workload, stream its output, exit with its exit code; Ctrl-C stops it')
      .description(
        "Start a workload in a tenant (its cgroup and namespaces, uid 0 inside) and stream its output. govctl exits with the workload's exit code, " +
          'or 128+signal; Ctrl-C stops the workload (SIGTERM, then a kill after --grace; a second Ctrl-C kills it at once)',
      )
      .argument('<tenant>', 'tenant name')
      .argument('<command...>', 'an absolute path and its arguments; put them after -- when they have options')
      .option('-e, --env <NAME=VALUE...>', 'the environment of the workload (nothing is inherited)')
      .option('--cwd <dir>', 'working directory inside the tenant', '/')
      .option('--grace <duration>', 'time between SIGTERM and the kill when Ctrl-C stops it', '10s')
      .option('-d, --detach', 'print the workload id and return at once')
      .showHelpAfterError('(put the workload command after --: govctl run TENANT -- /bin/sh -c "…")')
      .action(async (tenant: string, command: string[], options: { env?: string[]; cwd: string; grace: string; detach?: boolean }) => {
        const client = cli.client();
        const base = await cli.tenantPath(tenant, '/workloads');
        const env = parseEnv(options.env);
        const started = await client.post<Workload>(base, { command, cwd: options.cwd, ...(env && { env }) });
        if (options.detach) {
          cli.print(started, () => started.id);
          return;
        }
        const path = `${base}/${segment(started.id)}`;
        let latest = started;
        let stops = 0;
        const stop = () => {
          stops += 1;
          const grace = stops === 1 ? options.grace : '0s';
          cli.warn(
            stops === 1 ? `\ngovctl: stopping workload ${started.id} (grace ${grace}; Ctrl-C again to kill it now)` : `govctl: killing workload ${started.id}`,
          );
          client.delete(path, { grace }).catch((err: Error) => cli.warn(`govctl: could not stop workload ${started.id}: ${err.message}`));
        };
        const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
        for (const signal of signals) process.on(signal, stop);
        try {
          const cursors: LogCursors = { stdout: '0', stderr: '0' };
          await followOutput(
            client,
            `${path}/logs`,
            cursors,
            (stream, text) => (stream === 'stdout' ? cli.stdout : cli.stderr).write(text),
            async () => {
              latest = await client.get<Workload>(path);
              return !ACTIVE_WORKLOAD_STATES.includes(latest.state);
            },
          );
        } finally {
          for (const signal of signals) process.off(signal, stop);
        }
        if (latest.state !== 'exited')
          cli.warn(`govctl: workload ${latest.id} ${latest.state}${latest.signal ? ` by ${latest.signal}` : ''}${latest.message ? `: ${latest.message}` : ''}`);
        process.exitCode = exitStatusOf(latest);
      }),
    [
      'govctl run acme -- /bin/echo hello',
      "govctl run acme -e GREETING=hi -- /bin/sh -c 'echo $GREETING; exit 3'   # exits 3",
      'govctl run acme --detach -- /usr/bin/sleep 600',
    ],
  );

  examples(
    program
      .command('ps')
      .description("A tenant's workloads, newest first")
      .argument('<tenant>', 'tenant name')
      .action(async (tenant: string) => {
        const { items } = await cli.client().get<{ items: Workload[] }>(await cli.tenantPath(tenant, '/workloads'));
        cli.print(items, (wide) => (items.length === 0 ? 'No workloads.' : renderTable(WORKLOAD_COLUMNS, items, { wide, width: cli.width })));
      }),
    ['govctl ps acme', 'govctl ps acme -o wide'],
  );

  examples(
    program
      .command('logs')
      .description("A workload's output: the last lines, or (-f) followed until the workload ends")
      .argument('<tenant>', 'tenant name')
      .argument('<id>', 'workload id (govctl ps)')
      .option('-f, --follow', 'keep printing new output until the workload ends')
      .option('--tail <lines>', 'how many of the last lines of each stream, 1 to 10000', '100')
      .option('--stream <which>', 'stdout, stderr or both', 'both')
      .action(async (tenant: string, id: string, options: { follow?: boolean; tail: string; stream: string }) => {
        const client = cli.client();
        const path = `${await cli.tenantPath(tenant, '/workloads')}/${segment(id)}`;
        if (!options.follow) {
          cli.stdout.write((await client.request<string>('GET', `${path}/logs`, { query: { tail: options.tail, stream: options.stream }, text: true })).body);
          return;
        }
        if (!['stdout', 'stderr', 'both'].includes(options.stream)) throw new UsageError('--stream must be stdout, stderr or both');
        const cursors: LogCursors = { stdout: '0', stderr: '0' };
        for (const stream of ['stdout', 'stderr'] as const) {
          const res = await client.request<string>('GET', `${path}/logs`, { query: { stream, tail: options.tail }, text: true });
          if (options.stream === 'both' || options.stream === stream) (stream === 'stdout' ? cli.stdout : cli.stderr).write(res.body);
          cursors[stream] = res.headers.get('log-cursor') ?? '0';
        }
        await followOutput(
          client,
          `${path}/logs`,
          cursors,
          (stream, text) => {
            if (options.stream === 'both' || options.stream === stream) (stream === 'stdout' ? cli.stdout : cli.stderr).write(text);
          },
          async () => !ACTIVE_WORKLOAD_STATES.includes((await client.get<Workload>(path)).state),
        );
      }),
    ['govctl logs acme 3f2a…', 'govctl logs acme 3f2a… -f --tail 20', 'govctl logs acme 3f2a… --stream stderr'],
  );

  examples(
    program
      .command('stop')
      .summary('Stop a workload: SIGTERM, then a kill after --grace')
      .description('Stop a workload: SIGTERM, then a kill of everything left in its cgroup after the grace period')
      .argument('<tenant>', 'tenant name')
      .argument('<id>', 'workload id (govctl ps)')
      .option('--grace <duration>', 'time between SIGTERM and the kill, e.g. 500ms, 10s, 2m', '10s')
      .action(async (tenant: string, id: string, options: { grace: string }) => {
        const path = `${await cli.tenantPath(tenant, '/workloads')}/${segment(id)}`;
        const workload = await cli.client().delete<Workload>(path, { grace: options.grace });
        cli.print(workload, () => `workload/${workload.id} stopping (grace ${options.grace})`);
      }),
    ['govctl stop acme 3f2a…', 'govctl stop acme 3f2a… --grace 0s'],
  );
}
