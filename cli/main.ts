/**
 * `countersign <command>`: the CLI. Commander reads the command line (help, version, "did you mean", unknown options);
 * each command's module is loaded only when that command runs or its help is asked for, so a quick command never
 * pays for the MCP SDK, the AWS SDK clients of `doctor` or the CDK.
 */
import { readFileSync } from 'node:fs';
import { Command, type CommanderError } from 'commander';
import { completionScript, SHELLS, type Shell } from './completion';
import { type CliIo, processIo } from './io';
import { neutralize } from './terminal';

const USAGE = `usage: countersign <command>

agents
  request --action <a> [--resource r] [--environment e] [--justification j] [--parameters <json>] [--wait]
                                                        ask for approval; prints the request id and its status
  run --action <a> [...] [--timeout 15m] [--no-redeem] -- <command> [args…]
                                                        ask, wait, redeem, and run the command only if approved
  status <id>                                           a request now: what is asked, by whom, votes, time left
  wait <id> [--timeout 15m]                             wait for a request's outcome
  cancel <id>                                           withdraw a pending request
  mcp [--upstream "<command>" --name <server>]          an MCP server with request_approval and get_approval_status;
                                                        with --upstream, a gateway asking before each upstream tool call
approvers
  pending                                               what waits for your decision, and what each one would do
  approve <id> [--reason r] [--for 2h]                  vote to approve; --for: approve for a while (a grant), where
                                                        the rule allows it, up to its maxFor
  deny <id> [--reason r]                                vote to deny (a reason is recommended)
  grants [--all]                                        the grants you may see: approvals for a while
  grants revoke <grant id> --reason <text>              end a grant early (an approver of its rule, or an auditor)
policy
  policy check [file] [--json]                          validate a policy file (default: COUNTERSIGN_CONFIG or countersign.config.yaml)
  policy explain --request req.json [--config file] [--requester principal] [--json]
                                                        which rule decides a request, why earlier rules did not, who must approve
  policy shadow-report [--since 7d] [--until t] [--json]
                                                        what the shadow rules would have done to real traffic, and
                                                        who they would have asked (auditors)
auditors
  receipt verify <receipt | -> [--action a] [--resource r] [--environment e] [--approved-by-humans]
                 [--parameters file.json] [--public-key key.pem] [--redeem] [--json]
                                                        check an approval receipt: signature, expiry, and that it is for
                                                        this action, resource, environment and parameters, approved by people;
                                                        --redeem: and redeem it, once (the requester's executor)
  audit show <request id> [--public-key key.pem] [--json]
                                                        a request's ledger as a timeline, and whether its chain verifies
  audit export [--since t] [--until t] [--out file.jsonl]
                                                        the whole ledger and its checkpoints as JSON Lines (auditors)
  audit verify [--file file.jsonl] [--public-key key.pem] [--json]
                                                        check every record, chain and checkpoint; name each problem
platform teams
  doctor [--region r] [--profile p] [--config file] [--json]
                                                        before cdk deploy: bootstrap, Lambda concurrency, SES, secrets,
                                                        channels and sign-in, each with a fix; exit 1 if any fails
this command
  help [command]                                        a command's usage (also: countersign <command> --help, -h)
  completion bash|zsh|fish                              a shell completion script, e.g. source <(countersign completion bash)
  --version, -V                                         the version

  exit codes of request, run, status, wait, cancel, approve, deny and pending: 0 approved (or done); 2 usage error;
  3 API or network error (its code is printed); 4 denied; 5 expired; 6 cancelled; 7 still pending at --timeout;
  130 interrupted while waiting. run: the command's own exit code when it ran. Every command: 2 usage error
  (unknown command or option, missing or bad value, unreadable file), with a one-line message on stderr.

  Commands that call the API take --url (COUNTERSIGN_URL, default http://127.0.0.1:8787) and --api-key
  (COUNTERSIGN_API_KEY; without one, SigV4 with the default AWS credentials), and --json.
  "countersign <command> --help" for more.
`;

/** A command's body: its arguments after the command's name, and the IO; answers the exit code. */
export type Handler = (argv: readonly string[], io: CliIo) => Promise<number>;

/** What a command's module gives: its body and its usage text (printed by --help). */
interface Loaded {
  readonly run: Handler;
  readonly usage: string;
}

/** A command: its name, one line for the list, its options (for "did you mean" and completion), and its module. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Operands, all optional for commander: the command's body says what is missing, in its own words. */
  readonly args?: string;
  readonly options?: readonly string[];
  /** Loaded only when the command runs or its help is asked for. */
  readonly load?: () => Promise<Loaded>;
  readonly subcommands?: readonly CommandSpec[];
  /** A usage error also prints `{"ok": false, "error": {"code": "usage", …}}` on stdout when --json was given. */
  readonly jsonUsage?: boolean;
  /** A usage error prints the whole usage text (else a pointer to --help). */
  readonly usageOnError?: boolean;
  /** Options after the first operand belong to the operands (run's command line). */
  readonly passThrough?: boolean;
  /** With subcommands: the command runs by itself too (`grants` lists, `grants revoke` revokes). */
  readonly runsAlone?: boolean;
}

const CONNECTION = ['--url <url>', '--api-key <key>'];
const API = [...CONNECTION, '--json'];
const REQUEST = [
  '--action <action>',
  '--resource <resource>',
  '--environment <environment>',
  '--justification <text>',
  '--parameters <json>',
  '--on-behalf-of <principal>',
  '--agent-name <name>',
  '--idempotency-key <key>',
];

const actions = async (name: 'request' | 'status' | 'wait' | 'cancel' | 'pending' | 'approve' | 'deny'): Promise<Loaded> => {
  const m = await import('./actions');
  const usage = {
    request: m.REQUEST_USAGE,
    status: m.STATUS_USAGE,
    wait: m.WAIT_USAGE,
    cancel: m.CANCEL_USAGE,
    pending: m.PENDING_USAGE,
    approve: m.APPROVE_USAGE,
    deny: m.DENY_USAGE,
  }[name];
  return { run: m[name], usage };
};
/** A command whose module runs its subcommands: the subcommand `name` runs it with `name` first (`audit show …`). */
const under = ({ run, usage }: Loaded, name: string, ownUsage = usage): Loaded => ({ run: (argv, io) => run([name, ...argv], io), usage: ownUsage });
const audit = async (name?: 'show' | 'export' | 'verify'): Promise<Loaded> => {
  const { auditCommand, AUDIT_USAGE } = await import('./audit');
  const loaded: Loaded = { run: auditCommand, usage: AUDIT_USAGE };
  return name ? under(loaded, name) : loaded;
};
const policy = async (name?: 'check' | 'explain' | 'shadow-report'): Promise<Loaded> => {
  const { policyCommand, POLICY_USAGE, POLICY_CHECK_USAGE, POLICY_EXPLAIN_USAGE } = await import('./policy');
  const loaded: Loaded = { run: policyCommand, usage: POLICY_USAGE };
  if (name === 'shadow-report') return under(loaded, name, (await import('./shadow-report')).SHADOW_REPORT_USAGE);
  return name ? under(loaded, name, name === 'check' ? POLICY_CHECK_USAGE : POLICY_EXPLAIN_USAGE) : loaded;
};
const grants = async (name?: 'revoke'): Promise<Loaded> => {
  const { grantsCommand, GRANTS_USAGE, GRANTS_REVOKE_USAGE } = await import('./grants');
  const loaded: Loaded = { run: grantsCommand, usage: GRANTS_USAGE };
  return name ? under(loaded, name, GRANTS_REVOKE_USAGE) : loaded;
};
const receipt = async (name?: 'verify'): Promise<Loaded> => {
  const { receiptCommand, RECEIPT_USAGE } = await import('./receipt');
  const loaded: Loaded = { run: receiptCommand, usage: RECEIPT_USAGE };
  return name ? under(loaded, name) : loaded;
};

/** Every command, in the order of the usage text. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'request',
    summary: 'ask for approval; prints the request id and its status',
    options: [...API, ...REQUEST, '--wait', '--timeout <duration>', '-q, --quiet'],
    load: () => actions('request'),
    jsonUsage: true,
  },
  {
    name: 'run',
    summary: 'ask, wait, redeem, and run the command only if approved',
    args: '[command...]',
    options: [...API, ...REQUEST, '--timeout <duration>', '--redeem', '--no-redeem'],
    load: async () => {
      const { runCommand, RUN_USAGE } = await import('./run');
      return { run: runCommand, usage: RUN_USAGE };
    },
    jsonUsage: true,
    passThrough: true,
  },
  { name: 'status', summary: 'a request now', args: '[id]', options: API, load: () => actions('status'), jsonUsage: true },
  {
    name: 'wait',
    summary: "wait for a request's outcome",
    args: '[id]',
    options: [...API, '--timeout <duration>'],
    load: () => actions('wait'),
    jsonUsage: true,
  },
  { name: 'cancel', summary: 'withdraw a pending request', args: '[id]', options: API, load: () => actions('cancel'), jsonUsage: true },
  {
    name: 'mcp',
    summary: 'an MCP server (approval tools, or a gateway with --upstream)',
    options: [...CONNECTION, '--upstream <command>', '--name <server>', '--timeout <seconds>', '--agent <name>'],
    load: async () => {
      const { mcpCommand, MCP_USAGE } = await import('./mcp');
      return { run: mcpCommand, usage: MCP_USAGE };
    },
  },
  { name: 'pending', summary: 'what waits for your decision', options: API, load: () => actions('pending'), jsonUsage: true },
  {
    name: 'approve',
    summary: 'vote to approve',
    args: '[id]',
    options: [...API, '--reason <text>', '--for <duration>'],
    load: () => actions('approve'),
    jsonUsage: true,
  },
  {
    name: 'deny',
    summary: 'vote to deny',
    args: '[id]',
    options: [...API, '--reason <text>'],
    load: () => actions('deny'),
    jsonUsage: true,
  },
  {
    name: 'grants',
    summary: 'the grants you may see: approvals for a while',
    options: [...API, '--all'],
    load: () => grants(),
    jsonUsage: true,
    runsAlone: true,
    subcommands: [
      {
        name: 'revoke',
        summary: 'end a grant early, with a reason',
        args: '[id]',
        options: [...API, '--reason <text>'],
        load: () => grants('revoke'),
        jsonUsage: true,
      },
    ],
  },
  {
    name: 'policy',
    summary: 'check or explain the policy file, offline; report what its shadow rules would have done',
    usageOnError: true,
    load: () => policy(),
    subcommands: [
      {
        name: 'check',
        summary: 'validate a policy file',
        args: '[file]',
        options: ['--json'],
        load: () => policy('check'),
      },
      {
        name: 'explain',
        summary: 'which rule decides a request, and who must approve',
        options: ['--request <file>', '--config <file>', '--requester <principal>', '--json'],
        load: () => policy('explain'),
      },
      {
        name: 'shadow-report',
        summary: 'what the shadow rules would have done to real traffic, and who they would have asked',
        options: [...API, '--since <when>', '--until <when>'],
        load: () => policy('shadow-report'),
        jsonUsage: true,
      },
    ],
  },
  {
    name: 'receipt',
    summary: 'check an approval receipt',
    usageOnError: true,
    load: () => receipt(),
    subcommands: [
      {
        name: 'verify',
        summary: 'signature, expiry, and that it is for this action, resource, environment and parameters',
        args: '[receipt]',
        options: [
          ...API,
          '--action <action>',
          '--resource <resource>',
          '--environment <environment>',
          '--approved-by-humans',
          '--parameters <file>',
          '--public-key <file>',
          '--redeem',
        ],
        load: () => receipt('verify'),
      },
    ],
  },
  {
    name: 'audit',
    summary: "a request's ledger, the whole ledger exported, and its verification",
    usageOnError: true,
    load: () => audit(),
    subcommands: [
      { name: 'show', summary: "a request's ledger as a timeline", args: '[id]', options: [...API, '--public-key <file>'], load: () => audit('show') },
      {
        name: 'export',
        summary: 'the whole ledger and its checkpoints as JSON Lines',
        options: [...CONNECTION, '--since <time>', '--until <time>', '--out <file>'],
        load: () => audit('export'),
      },
      {
        name: 'verify',
        summary: 'check every record, chain and checkpoint',
        options: [...API, '--file <file>', '--public-key <file>', '--max-checkpoint-age <seconds>', '--since <time>', '--until <time>'],
        load: () => audit('verify'),
      },
    ],
  },
  {
    name: 'doctor',
    summary: 'before cdk deploy: what would fail, each with a fix',
    options: ['--region <region>', '--profile <profile>', '--config <file>', '--toolkit-stack-name <name>', '--json'],
    load: async () => {
      const { doctorCommand, DOCTOR_USAGE } = await import('./doctor');
      return { run: (argv, io) => doctorCommand(argv, { stdout: io.stdout, stderr: io.stderr, env: io.env }), usage: DOCTOR_USAGE };
    },
  },
  { name: 'help', summary: "a command's usage", args: '[command...]' },
  { name: 'completion', summary: 'a shell completion script', args: '[shell]' },
];

/** The package's version, from package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** A usage problem found while reading the command line, with the command it concerns. */
class UsageProblem extends Error {
  constructor(
    readonly path: readonly CommandSpec[],
    readonly error: CommanderError,
  ) {
    super(error.message);
  }
}

/**
 * The commander program for `specs`: `loaded` holds the modules already loaded (their usage texts are the help), and
 * `ran` receives a command's exit code. Errors are thrown (exitOverride), never exit the process.
 */
export function program(
  io: CliIo,
  loaded: ReadonlyMap<CommandSpec, Loaded> = new Map(),
  ran: (code: number) => void = () => {},
  rawArgv: readonly string[] = [],
): Command {
  const root = new Command('countersign')
    .usage('<command>')
    .version(version(), '-V, --version', 'the version')
    .helpOption('-h, --help', 'this help')
    .helpCommand(false)
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} })
    .configureHelp({ formatHelp: () => USAGE })
    .exitOverride((e) => {
      throw new UsageProblem([], e);
    });
  const add = (parent: Command, spec: CommandSpec, path: readonly CommandSpec[]) => {
    const here = [...path, spec];
    const command = parent.command(spec.name).description(spec.summary).allowExcessArguments();
    command.exitOverride((e) => {
      throw new UsageProblem(here, e);
    });
    if (spec.args) command.argument(spec.args);
    for (const flags of spec.options ?? []) command.option(flags);
    if (spec.passThrough) command.passThroughOptions();
    const module = loaded.get(spec);
    if (module) command.configureHelp({ formatHelp: () => `${module.usage}\n` });
    for (const sub of spec.subcommands ?? []) add(command, sub, here);
    if (spec.load && (!spec.subcommands || spec.runsAlone)) {
      command.action(async () => {
        const mod = module ?? (await spec.load!());
        ran(await mod.run(rawArgv.slice(here.length), io));
      });
    }
  };
  for (const spec of COMMANDS) add(root, spec, []);
  return root;
}

/** The first line of a commander message, as a sentence: `unknown option '--x'` → `Unknown option '--x'`. */
function describe(e: CommanderError): { message: string; suggestion: string } {
  const [first = '', ...rest] = e.message.replace(/^error: /, '').split('\n');
  return { message: first.charAt(0).toUpperCase() + first.slice(1), suggestion: rest.join(' ').trim() };
}

/** Every module the command line names (the command, and its subcommand if any), loaded for their help texts. */
async function loadNamed(argv: readonly string[]): Promise<Map<CommandSpec, Loaded>> {
  const loaded = new Map<CommandSpec, Loaded>();
  const spec = COMMANDS.find((c) => c.name === argv[0]);
  if (spec?.load) loaded.set(spec, await spec.load());
  const sub = spec?.subcommands?.find((c) => c.name === argv[1]);
  if (sub?.load) loaded.set(sub, await sub.load());
  return loaded;
}

/**
 * Runs `countersign <argv…>` with `io`'s streams and environment (the process's own when not given) and answers its
 * exit code; the caller sets it (cli/countersign.mjs: process.exitCode). Nothing is left listening on the process.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (argv[0] === 'help') return main(argv.length > 1 ? [...argv.slice(1), '--help'] : ['--help'], io);
  if (argv[0] === 'completion') {
    const shell = argv[1];
    if (argv.length !== 2 || !SHELLS.includes(shell as Shell)) {
      io.stderr.write(`countersign completion: expected one of ${SHELLS.join(', ')}, e.g. countersign completion bash\n`);
      return 2;
    }
    io.stdout.write(completionScript(shell as Shell, program(io)));
    return 0;
  }
  let code = 0;
  const loaded = await loadNamed(argv);
  try {
    await program(io, loaded, (c) => (code = c), argv).parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (!(e instanceof UsageProblem)) throw e;
    const { error, path } = e;
    // Help and version asked for: already on stdout.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // A command with subcommands and none given (or no command at all): its help, already on stderr.
    if (error.code === 'commander.help') return 2;
    const name = ['countersign', ...path.map((p) => p.name)].join(' ');
    const { message, suggestion } = describe(error);
    if (path.length === 0 && error.code === 'commander.unknownCommand') {
      io.stderr.write(`countersign: unknown command "${neutralize(argv[0] ?? '')}"${suggestion ? `\n${neutralize(suggestion)}` : ''}\n\n${USAGE}`);
      return 2;
    }
    const spec = path.at(-1);
    if (spec?.jsonUsage && argv.includes('--json')) io.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'usage', message } })}\n`);
    const usage = path.some((p) => p.usageOnError) ? loaded.get(spec!)?.usage : undefined;
    // The message quotes what was typed: shown with control and hidden characters made visible.
    io.stderr.write(
      `${name}: ${neutralize(message)}${suggestion ? `\n${neutralize(suggestion)}` : ''}\n${usage ? `\n${usage}\n` : `(${name} --help for usage)\n`}`,
    );
    return 2;
  }
}
