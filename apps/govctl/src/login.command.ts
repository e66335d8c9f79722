import type { Command } from 'commander';
import { GovernorClient } from './api.client';
import type { Cli } from './cli.context';
import { UsageError } from './cli.errors';
import { readConfig, withContext, writeConfig } from './config.store';
import { examples } from './help.text';
import { renderTable } from './table.format';

/** Reads one line from stdin (a piped token); the token is never taken from the argument list unless given with --token. */
async function readStdinLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.split('\n')[0].trim();
}

export function registerLogin(program: Command, cli: Cli): void {
  examples(
    program
      .command('login')
      .summary('Save a server and token as a context (~/.config/governor/config.yaml) and use it')
      .description(
        `Check a server and token and save them as a context in ${cli.configPath} (mode 0600), then use it. ` +
          'The token comes from --token, GOVERNOR_TOKEN or one line on stdin; an admin token and a tenant key (gvt_…) are both fine',
      )
      .argument('[server]', 'e.g. http://127.0.0.1:8080 (default: --server or GOVERNOR_URL)')
      .option('--name <context>', 'the context name (default: the server host, with "-<tenant>" for a tenant key)')
      .action(async (server: string | undefined, options: { name?: string }) => {
        const url = server ?? cli.flags.server ?? cli.env.GOVERNOR_URL;
        if (!url) throw new UsageError('give the server: govctl login http://127.0.0.1:8080');
        const token = cli.flags.token ?? cli.env.GOVERNOR_TOKEN ?? (process.stdin.isTTY ? undefined : await readStdinLine());
        if (!token) throw new UsageError('give the token with --token, GOVERNOR_TOKEN, or on stdin: govctl login URL < token-file');
        const client = new GovernorClient({ server: url.replace(/\/+$/, ''), token });
        // One request that the credential must pass: /v1/me for a tenant key, the tenant list for an admin.
        const who = client.isTenantKey
          ? `tenant ${(await client.get<{ name: string }>('/v1/me')).name}`
          : (await client.get('/v1/tenants', { limit: 1 }), 'admin');
        const name = options.name ?? `${new URL(url).host}${client.isTenantKey ? `-${who.slice('tenant '.length)}` : ''}`;
        const path = cli.configPath;
        writeConfig(path, withContext(readConfig(path), { name, server: client.connection.server, token }));
        cli.out(`Logged in to ${client.connection.server} as ${who}; context "${name}" saved in ${path} and in use.`);
      }),
    [
      'govctl login http://127.0.0.1:8080 --token "$(cat var/admin-token)"',
      'govctl login https://gov.example.com --name acme < acme.key',
      'GOVERNOR_TOKEN=gvt_… govctl login http://127.0.0.1:8080',
    ],
  );

  const config = program.command('config').description(`List and switch the contexts of ${cli.configPath}`).summary('List and switch contexts');
  examples(
    config
      .command('contexts')
      .description('List the contexts; * marks the one in use')
      .action(() => {
        const current = readConfig(cli.configPath, (line) => cli.warn(line));
        const rows = current.contexts.map((c) => ({ ...c, current: c.name === current.currentContext }));
        cli.print(
          rows.map(({ name, server, current: inUse }) => ({ name, server, current: inUse })),
          () =>
            rows.length === 0
              ? 'No contexts: run govctl login.'
              : renderTable(
                  [
                    { header: 'CURRENT', value: (r: (typeof rows)[number]) => (r.current ? '*' : '') },
                    { header: 'NAME', value: (r) => r.name },
                    { header: 'SERVER', value: (r) => r.server },
                    { header: 'CREDENTIAL', value: (r) => (r.token.startsWith('gvt_') ? 'tenant key' : 'admin token') },
                  ],
                  rows,
                  { width: cli.width },
                ),
        );
      }),
    ['govctl config contexts'],
  );
  examples(
    config
      .command('use')
      .description('Make a context the one in use')
      .argument('<context>', 'context name')
      .action((name: string) => {
        const path = cli.configPath;
        const current = readConfig(path, (line) => cli.warn(line));
        const context = current.contexts.find((c) => c.name === name);
        if (!context) throw new UsageError(`no context "${name}" (contexts: ${current.contexts.map((c) => c.name).join(', ') || 'none'})`);
        writeConfig(path, withContext(current, context));
        cli.out(`Using context "${name}" (${context.server}).`);
      }),
    ['govctl config use prod'],
  );
}
