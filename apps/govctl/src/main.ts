import { CommanderError } from 'commander';
import { CliError, ExitCode } from './cli.errors';
import { COMPLETE_COMMAND, complete } from './completion.command';
import { buildProgram } from './program';

/** Runs govctl and sets its exit code; an error is a line or two on stderr, never a stack (GOVCTL_DEBUG=1 shows it). */
async function main(argv: string[]): Promise<void> {
  const { program, cli } = buildProgram();
  // `govctl logs … | head` closes the pipe early: that ends govctl quietly, as it ends cat.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  // The completion scripts' calls go around commander: the words typed so far are data, not options.
  if (argv[2] === COMPLETE_COMMAND) {
    for (const candidate of await complete(program, argv.slice(3), process.env)) cli.stdout.write(`${candidate}\n`);
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; help asked for and --version end well (exit code 0), and
      // anything else (a bad flag, a missing argument, help shown because no command was given) is usage
      process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    } else if (err instanceof CliError) {
      for (const line of err.lines()) cli.warn(line);
      process.exitCode = err.exitCode;
    } else {
      cli.warn(`error: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.GOVCTL_DEBUG && err instanceof Error && err.stack) cli.warn(err.stack);
      process.exitCode = ExitCode.API_ERROR;
    }
  }
}

void main(process.argv);
