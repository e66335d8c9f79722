import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { Cli, OUTPUT_FORMATS } from './cli.context';
import { registerCompletion } from './completion.command';
import { registerEdit } from './edit.command';
import { registerKeys, registerTokens } from './keys.command';
import { registerLogin } from './login.command';
import { registerMe } from './me.command';
import { registerNodes } from './nodes.command';
import { registerQuota } from './quota.command';
import { registerRequests } from './requests.command';
import { registerTenants } from './tenants.command';
import { registerTop } from './top.command';
import { registerWorkloads } from './workloads.command';

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  API error (the API answered with a problem; its detail and each bad field are printed)
  2  usage (a bad command, flag or value)
  3  connection (the server cannot be reached, or none is configured)
  4  not found
  5  conflict (409, or 412: the tenant changed since it was read)
  govctl run exits with the workload's exit code, or 128+signal.`;

function version(): string {
  // dist/apps/govctl/src/ when built, apps/govctl/src/ in the source tree
  for (const up of [
    ['..', '..', '..', '..'],
    ['..', '..', '..'],
  ]) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, ...up, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

/** govctl's whole command tree. Errors are thrown (exitOverride), never printed by commander and exited on. */
export function buildProgram(env: NodeJS.ProcessEnv = process.env): { program: Command; cli: Cli } {
  const program = new Command('govctl');
  const cli = new Cli(program, env);
  program
    .description("Governor's command line: tenants, quotas, workloads and a live top, for admins (admin tokens) and tenants (tenant keys)")
    .version(version(), '-V, --version')
    .option('-s, --server <url>', 'the governor API, e.g. http://127.0.0.1:8080 (env GOVERNOR_URL)')
    .option('-t, --token <token>', 'an admin token or a tenant key (env GOVERNOR_TOKEN)')
    .option('--context <name>', 'a context of the config file (default: its current-context)')
    .addOption(new Option('-o, --output <format>', 'table (default), wide, json or yaml').choices(OUTPUT_FORMATS))
    .exitOverride()
    .configureOutput({ writeOut: (text) => cli.stdout.write(text), writeErr: (text) => cli.stderr.write(text) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Connection: each of the server and token comes from its flag, else GOVERNOR_URL / GOVERNOR_TOKEN, else the
context (--context, or current-context) in ${cli.configPath} (written by govctl login, mode 0600).

${EXIT_CODES_HELP}

Examples:
  govctl login http://127.0.0.1:8080 --token "$(cat var/admin-token)"
  govctl tenants create acme --cpu 1.5 --memory 512Mi --pids 256
  govctl run acme -- /bin/sh -c 'echo hello from $(hostname)'
  govctl top
`,
    );
  registerLogin(program, cli);
  registerTenants(program, cli);
  registerEdit(program, cli);
  registerQuota(program, cli);
  registerWorkloads(program, cli);
  registerTop(program, cli);
  registerNodes(program, cli);
  registerRequests(program, cli);
  registerKeys(program, cli);
  registerTokens(program, cli);
  registerMe(program, cli);
  registerCompletion(program, cli);
  return { program, cli };
}
