/** `countersign <command>`: the CLI. */
import { auditCommand } from './audit';
import { policyCommand } from './policy';
import { receiptCommand } from './receipt';

const USAGE = `usage: countersign <command>

  policy check [file] [--json]                          validate a policy file (default: COUNTERSIGN_CONFIG or countersign.config.yaml)
  policy explain --request req.json [--config file] [--requester principal] [--json]
                                                        which rule decides a request, why earlier rules did not, who must approve
  receipt verify <receipt | -> [--parameters file.json] [--public-key key.pem] [--json]
                                                        check an approval receipt: signature, expiry, and (optionally) its parameters
  audit show <request id> [--public-key key.pem] [--json]
                                                        a request's ledger as a timeline, and whether its chain verifies
  audit export [--since t] [--until t] [--out file.jsonl]
                                                        the whole ledger and its checkpoints as JSON Lines (auditors)
  audit verify [--file file.jsonl] [--public-key key.pem] [--json]
                                                        check every record, chain and checkpoint; name each problem

  receipt and audit call the API: --url (COUNTERSIGN_URL, default http://127.0.0.1:8787) and --api-key
  (COUNTERSIGN_API_KEY; without one, SigV4 with the default AWS credentials). "countersign <command> --help" for more.
`;

const COMMANDS: Readonly<Record<string, (argv: readonly string[]) => Promise<number>>> = {
  policy: policyCommand,
  receipt: receiptCommand,
  audit: auditCommand,
};

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(COMMANDS, command)) return COMMANDS[command]!(rest);
  const help = !command || command === '--help' || command === '-h' || command === 'help';
  process.stderr.write(help ? USAGE : `countersign: unknown command "${command}"\n\n${USAGE}`);
  return help ? 0 : 2;
}
