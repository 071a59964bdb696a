/**
 * `countersign completion bash|zsh|fish`: a completion script for the shell, generated from the commander program
 * (its commands, subcommands and long options), so it names exactly what the CLI accepts.
 */
import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Entry {
  /** e.g. `audit show`; '' for the top level. */
  readonly path: string;
  readonly description: string;
  readonly subcommands: readonly string[];
  readonly flags: readonly string[];
}

function entries(command: Command, path: string[] = []): Entry[] {
  const flags = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  const here: Entry = {
    path: path.join(' '),
    description: command.description(),
    // `help <command>` completes the commands beside it, `completion <shell>` the shells.
    subcommands:
      command.name() === 'completion' && command.parent
        ? [...SHELLS]
        : (command.name() === 'help' && command.parent ? command.parent.commands : command.commands).map((c) => c.name()),
    flags: [...flags, '--help'],
  };
  return [here, ...command.commands.flatMap((c) => entries(c, [...path, c.name()]))];
}

/** Single-quoted for a shell: no expansion of anything inside. */
const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function bash(all: readonly Entry[]): string {
  const cases = all.map((e) => `    ${quote(e.path)}) words=${quote([...e.subcommands, ...e.flags].join(' '))} ;;`).join('\n');
  return `# countersign completion for bash: source <(countersign completion bash)
_countersign() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word words="" i
  # The command path typed so far: the words before the cursor that are not options or option values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    case "\${path:+$path }$word" in
${all
  .filter((e) => e.path)
  .map((e) => `      ${quote(e.path)}) path=${quote(e.path)} ;;`)
  .join('\n')}
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _countersign countersign
`;
}

function zsh(all: readonly Entry[]): string {
  return `#compdef countersign
# countersign completion for zsh: source <(countersign completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(all).split('\n').slice(1).join('\n')}`;
}

function fish(all: readonly Entry[]): string {
  const lines = ['# countersign completion for fish: countersign completion fish | source'];
  for (const e of all) {
    const words = e.path ? e.path.split(' ') : [];
    // At this path: the words typed so far are exactly these, and no subcommand of it yet.
    const seen = words.map((w) => `__fish_seen_subcommand_from ${w}`);
    const deeper = e.subcommands.filter((s) => !words.includes(s));
    const notDeeper = deeper.length ? [`not __fish_seen_subcommand_from ${deeper.join(' ')}`] : [];
    const condition = words.length === 0 ? '__fish_use_subcommand' : [...seen, ...notDeeper].join('; and ');
    const describe = (name: string) => all.find((c) => c.path === (e.path ? `${e.path} ${name}` : name) || c.path === name)?.description ?? '';
    const children = e.subcommands.map((name) => [name, describe(name)] as const);
    for (const [name, description] of children) lines.push(`complete -c countersign -n ${quote(condition)} -a ${quote(name)} -d ${quote(description)}`);
    if (words.length === 0) continue;
    for (const flag of e.flags.filter((f) => f.startsWith('--'))) lines.push(`complete -c countersign -n ${quote(condition)} -l ${quote(flag.slice(2))}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script of `program` for `shell`. */
export function completionScript(shell: Shell, program: Command): string {
  const all = entries(program);
  return { bash, zsh, fish }[shell](all);
}
