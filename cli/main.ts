/** `countersign <command>`: the CLI. Today: `policy check` and `policy explain`. */
import { policyCommand } from './policy';

const USAGE = `usage: countersign <command>

  policy check [file] [--json]                          validate a policy file (default: COUNTERSIGN_CONFIG or countersign.config.yaml)
  policy explain --request req.json [--config file] [--requester principal] [--json]
                                                        which rule decides a request, why earlier rules did not, who must approve
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'policy') return policyCommand(rest);
  process.stderr.write(command && command !== '--help' && command !== 'help' ? `countersign: unknown command "${command}"\n\n${USAGE}` : USAGE);
  return command && command !== '--help' && command !== 'help' ? 2 : 0;
}
