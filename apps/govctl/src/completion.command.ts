import type { Command, Option } from 'commander';
import { GovernorClient } from './api.client';
import type { Tenant } from './api.types';
import type { Cli } from './cli.context';
import { OUTPUT_FORMATS } from './cli.context';
import { UsageError } from './cli.errors';
import { configPath, readConfig, resolveConnection } from './config.store';
import { examples } from './help.text';

/** The hidden command the completion scripts call with the words typed so far (the last one is being completed). */
export const COMPLETE_COMMAND = '__complete';

export const BASH_COMPLETION = `# govctl completion for bash. Load it with: source <(govctl completion bash)
_govctl_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(govctl ${COMPLETE_COMMAND} "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _govctl_complete govctl
`;

export const ZSH_COMPLETION = `#compdef govctl
# govctl completion for zsh. Load it with: source <(govctl completion zsh) (after compinit), or save it as _govctl in $fpath.
_govctl() {
  local -a candidates
  candidates=(\${(f)"$(govctl ${COMPLETE_COMMAND} "\${(@)words[2,CURRENT]}" 2>/dev/null)"})
  compadd -a candidates
}
if [ "$funcstack[1]" = "_govctl" ]; then
  _govctl "$@"
else
  compdef _govctl govctl
fi
`;

/** What a word may complete to, given the words before it: subcommands, options, or values of an argument. */
export interface CompletionSlot {
  kind: 'commands' | 'options' | 'option-value' | 'argument';
  command: Command;
  /** the option whose value is being typed */
  option?: Option;
  /** the name of the positional argument being typed */
  argument?: string;
}

function findOption(command: Command, flag: string): Option | undefined {
  for (let c: Command | null = command; c; c = c.parent) {
    const option = c.options.find((o) => o.long === flag || o.short === flag);
    if (option) return option;
  }
  return undefined;
}

/** Walks the typed words through the command tree to find what the last one is. */
export function completionSlot(program: Command, words: string[]): CompletionSlot {
  let command = program;
  let positional = 0;
  const before = words.slice(0, -1);
  for (let i = 0; i < before.length; i++) {
    const word = before[i];
    if (word === '--') break;
    if (word.startsWith('-')) {
      const option = findOption(command, word.split('=')[0]);
      if (option && (option.required || option.optional) && !word.includes('=')) i++;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub && positional === 0) {
      command = sub;
      continue;
    }
    positional++;
  }
  const previous = before.at(-1);
  const current = words.at(-1) ?? '';
  if (previous?.startsWith('-') && !previous.includes('=')) {
    const option = findOption(command, previous);
    if (option && (option.required || option.optional)) return { kind: 'option-value', command, option };
  }
  if (current.startsWith('-')) return { kind: 'options', command };
  const args = command.registeredArguments;
  const argument = args[Math.min(positional, args.length - 1)];
  if (command.commands.length > 0 && positional === 0) return { kind: 'commands', command };
  return { kind: 'argument', command, argument: argument && (positional < args.length || argument.variadic) ? argument.name() : undefined };
}

/** The candidates for the last word; tenant names and contexts come from the API and the config file. */
export async function complete(program: Command, words: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const slot = completionSlot(program, words);
  const current = words.at(-1) ?? '';
  let candidates: string[] = [];
  if (slot.kind === 'commands') {
    candidates = slot.command.commands.filter((c) => c.name() !== COMPLETE_COMMAND).map((c) => c.name());
  } else if (slot.kind === 'options') {
    for (let c: Command | null = slot.command; c; c = c.parent) candidates.push(...c.options.flatMap((o) => (o.long ? [o.long] : [])));
    candidates.push('--help');
  } else if (slot.kind === 'option-value') {
    if (slot.option?.long === '--output') candidates = OUTPUT_FORMATS;
    if (slot.option?.long === '--context') candidates = contextNames(env);
  } else if (slot.argument === 'tenant') {
    candidates = await tenantNames(words, env);
  } else if (slot.argument === 'context') {
    candidates = contextNames(env);
  } else if (slot.argument === 'shell') {
    candidates = ['bash', 'zsh'];
  }
  return candidates.filter((c) => c.startsWith(current));
}

function contextNames(env: NodeJS.ProcessEnv): string[] {
  try {
    return readConfig(configPath(env)).contexts.map((c) => c.name);
  } catch {
    return [];
  }
}

/** Tenant names from the API, with the connection the typed words name (--server, --token, --context). */
async function tenantNames(words: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const flag = (name: string) => {
    const i = words.indexOf(name);
    return i >= 0 ? words[i + 1] : words.find((w) => w.startsWith(`${name}=`))?.slice(name.length + 1);
  };
  try {
    const connection = resolveConnection({ server: flag('--server'), token: flag('--token'), context: flag('--context') }, env, readConfig(configPath(env)));
    const client = new GovernorClient(connection);
    if (client.isTenantKey) return [(await client.get<Tenant>('/v1/me')).name];
    return (await client.all<Tenant>('/v1/tenants')).map((t) => t.name);
  } catch {
    return [];
  }
}

export function registerCompletion(program: Command, cli: Cli): void {
  examples(
    program
      .command('completion')
      .summary('Print a bash or zsh completion script')
      .description('Print a completion script for bash or zsh; it completes commands, options and tenant names (asked from the API)')
      .argument('<shell>', 'bash or zsh')
      .action((shell: string) => {
        if (shell === 'bash') cli.stdout.write(BASH_COMPLETION);
        else if (shell === 'zsh') cli.stdout.write(ZSH_COMPLETION);
        else throw new UsageError(`completion is for bash or zsh; got "${shell}"`);
      }),
    [
      'source <(govctl completion bash)                 # in ~/.bashrc',
      'govctl completion bash > /etc/bash_completion.d/govctl',
      'source <(govctl completion zsh)                  # in ~/.zshrc, after compinit',
    ],
  );
}
