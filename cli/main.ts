/**
 * `countersign <command>`: the CLI. Each command's module is loaded only when that command runs, so a quick command
 * never pays for the MCP SDK, the AWS SDK clients of `doctor` or the CDK.
 */
import { type CliIo, processIo } from './io';

const USAGE = `usage: countersign <command>

agents
  request --action <a> [--resource r] [--environment e] [--justification j] [--parameters <json>] [--wait]
                                                        ask for approval; prints the request id and its status
  run --action <a> [...] [--timeout 15m] -- <command> [args…]
                                                        ask, wait, and run the command only if approved
  status <id>                                           a request now: status, votes, reasons, receipt
  wait <id> [--timeout 15m]                             wait for a request's outcome
  cancel <id>                                           withdraw a pending request
  mcp [--upstream "<command>" --name <server>]          an MCP server with request_approval and get_approval_status;
                                                        with --upstream, a gateway asking before each upstream tool call
approvers
  pending                                               what waits for your decision
  approve <id> [--reason r]                             vote to approve
  deny <id> [--reason r]                                vote to deny (a reason is recommended)
policy
  policy check [file] [--json]                          validate a policy file (default: COUNTERSIGN_CONFIG or countersign.config.yaml)
  policy explain --request req.json [--config file] [--requester principal] [--json]
                                                        which rule decides a request, why earlier rules did not, who must approve
auditors
  receipt verify <receipt | -> [--action a] [--resource r] [--environment e] [--approved-by-humans]
                 [--parameters file.json] [--public-key key.pem] [--json]
                                                        check an approval receipt: signature, expiry, and that it is for
                                                        this action, resource, environment and parameters, approved by people
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

  exit codes of request, run, status, wait, cancel, approve, deny and pending: 0 approved (or done); 2 usage error;
  3 API or network error (its code is printed); 4 denied; 5 expired; 6 cancelled; 7 still pending at --timeout;
  130 interrupted while waiting. run: the command's own exit code when it ran.

  Commands that call the API take --url (COUNTERSIGN_URL, default http://127.0.0.1:8787) and --api-key
  (COUNTERSIGN_API_KEY; without one, SigV4 with the default AWS credentials), and --json.
  "countersign <command> --help" for more.
`;

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  // agents
  request: async () => (await import('./actions')).request,
  run: async () => (await import('./run')).runCommand,
  status: async () => (await import('./actions')).status,
  wait: async () => (await import('./actions')).wait,
  cancel: async () => (await import('./actions')).cancel,
  // approvers
  pending: async () => (await import('./actions')).pending,
  approve: async () => (await import('./actions')).approve,
  deny: async () => (await import('./actions')).deny,
  // policy, auditors
  policy: async () => (await import('./policy')).policyCommand,
  receipt: async () => (await import('./receipt')).receiptCommand,
  audit: async () => (await import('./audit')).auditCommand,
  mcp: async () => (await import('./mcp')).mcpCommand,
  // platform teams
  doctor: async () => {
    const { doctorCommand } = await import('./doctor');
    return (argv, io) => doctorCommand(argv, { stdout: io.stdout, stderr: io.stderr, env: io.env });
  },
};

/**
 * Runs `countersign <argv…>` with `io`'s streams and environment (the process's own when not given) and answers its
 * exit code; the caller sets it (cli/countersign.mjs: process.exitCode). Nothing is left listening on the process.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(COMMANDS, command)) return (await COMMANDS[command]!())(rest, io);
  // Asked-for help goes to stdout; a missing or unknown command is a usage error, on stderr.
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  io.stderr.write(command === undefined ? USAGE : `countersign: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}
