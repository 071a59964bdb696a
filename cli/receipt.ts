/** `countersign receipt verify`: checks an approval receipt with the ledger's public key, online or offline. */
import type { KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ReceiptError, verifyReceipt, type ReceiptClaims } from '../lambdas/core/receipt';
import { CONNECTION_USAGE, connectionOptions, endpointOf, err, EXIT, exitCodeOf, neutralize, out, publicKeyFromApi, publicKeyFromFile, readJsonFile, readTextFile, UsageError } from './connection';

export const RECEIPT_USAGE = `usage: countersign receipt verify <receipt | -> [--parameters file.json] [--public-key key.pem] [--json] [--url <url>] [--api-key <key>]

  Verifies an approval receipt (a compact JWS): its ES256 signature with the ledger's public key, its claims, and
  that it has not expired. "-" reads the receipt from stdin.

  --parameters file.json  the receipt must be for exactly these parameters (the JSON file's SHA-256 over RFC 8785
                          canonical JSON must equal the receipt's paramsSha256)
  --public-key key.pem    the ledger key as PEM: verifies offline, without calling the API; otherwise the key is
                          fetched from GET /v1/audit/public-key
  --json                  print {"ok", "claims"?, "error"?: {"code", "message"}}

  exit codes: 0 the receipt is valid; 1 it is not (malformed, unsupported_algorithm, bad_signature, expired,
  parameters_mismatch); 2 usage error (bad arguments, unreadable file); 3 the API could not be reached or answered
  an error (fetching the public key)

${CONNECTION_USAGE}`;

export async function receiptCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'verify') return verify(rest);
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    out(RECEIPT_USAGE);
    return EXIT.ok;
  }
  err(`${sub ? `countersign receipt: unknown subcommand "${neutralize(sub)}"\n\n` : ''}${RECEIPT_USAGE}`);
  return EXIT.usage;
}

const verifyOptions = {
  ...connectionOptions,
  parameters: { type: 'string' },
  'public-key': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function verify(argv: readonly string[]): Promise<number> {
  let json = false;
  try {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: verifyOptions });
    json = values.json;
    if (values.help) {
      out(RECEIPT_USAGE);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'a receipt (or - for stdin) is required' : 'one receipt at a time');
    const jws = (positionals[0] === '-' ? readTextFile('-') : positionals[0]!).trim();
    if (!jws) throw new UsageError('the receipt is empty');
    const parameters = values.parameters !== undefined ? { parameters: readJsonFile(values.parameters) } : {};
    const key: KeyObject = values['public-key'] !== undefined ? publicKeyFromFile(values['public-key']) : await publicKeyFromApi(endpointOf(values));

    let claims: ReceiptClaims;
    try {
      claims = verifyReceipt(jws, key, parameters);
    } catch (e) {
      if (!(e instanceof ReceiptError)) throw e;
      const error = { code: e.code, message: e.message };
      if (json) out(JSON.stringify({ ok: false, error }));
      else out(`receipt: INVALID (${e.code}: ${neutralize(e.message)})`);
      return EXIT.failed;
    }
    if (json) {
      out(JSON.stringify({ ok: true, claims }));
      return EXIT.ok;
    }
    const row = (label: string, value: string | undefined) => value !== undefined && out(`  ${label.padEnd(12)} ${neutralize(value)}`);
    out('receipt: valid');
    row('request', claims.sub);
    row('action', claims.action);
    row('resource', claims.resource);
    row('environment', claims.environment);
    row('requester', claims.requester);
    row('approvers', claims.approvers.length ? claims.approvers.join(', ') : '(none: allowed by policy)');
    row('rule', claims.rule);
    row('issued', new Date(claims.iat * 1000).toISOString());
    row('expires', new Date(claims.exp * 1000).toISOString());
    row('parameters', values.parameters !== undefined ? `match ${values.parameters}` : `not checked (pass --parameters file.json); sha256 ${claims.paramsSha256}`);
    return EXIT.ok;
  } catch (e) {
    return exitCodeOf(e, { command: 'receipt verify', usageHint: `\n${RECEIPT_USAGE}`, json, apiContext: 'cannot fetch the public key: ' });
  }
}
