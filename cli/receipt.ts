/**
 * `countersign receipt verify`: checks an approval receipt with the ledger's public key, online or offline, and that it
 * binds the action about to run (action, resource, environment, approval by people, parameters): the checks are
 * `verifyReceipt`'s, the same the TypeScript library runs.
 */
import type { KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Countersign, CountersignApiError, REDEMPTION_REFUSALS, type Redemption } from '../client/index';
import { formatUtc } from '../lambdas/core/dates';
import { type ReceiptClaims, ReceiptError, type VerifyReceiptOptions, verifyReceipt } from '../lambdas/core/receipt';
import {
  type CliIo,
  CONNECTION_USAGE,
  connectionOptions,
  EXIT,
  endpointOf,
  err,
  exitCodeOf,
  neutralize,
  out,
  publicKeyFromApi,
  publicKeyFromFile,
  readJsonFile,
  readTextFile,
  UsageError,
} from './connection';

export const RECEIPT_USAGE = `usage: countersign receipt verify <receipt | -> [--action a] [--resource r] [--environment e] [--approved-by-humans]
                                [--parameters file.json] [--public-key key.pem] [--redeem] [--json] [--url <url>] [--api-key <key>]

  Verifies an approval receipt (a compact JWS): its ES256 signature with the ledger's public key, its claims, and
  that it has not expired; then that it was issued for what you are about to do. "-" reads the receipt from stdin.

  --action a              the receipt must be for exactly this action
  --resource r            the receipt must be for this resource, compared as policy compares text (case, width,
                          hidden characters and spacing do not count); --resource '' means "on no resource"
  --environment e         the same for the environment (Production matches production)
  --approved-by-humans    refuse a receipt that policy issued on its own (a rule that allows at once): people
                          must have approved
  --parameters file.json  the receipt must be for exactly these parameters (HMAC-SHA256 of the file's RFC 8785
                          canonical JSON, keyed with the receipt's paramsSalt, must equal its paramsHmac)
  --public-key key.pem    the ledger key as PEM: verifies offline, without calling the API; otherwise the key is
                          fetched from GET /v1/audit/public-key
  --redeem                once the receipt checks out, redeem it online (POST /v1/actions/{id}/redeem, as the
                          requester, with the commitment of --parameters when given): exit 0 only for the first
                          redemption of the approval, so a script runs the action at most once
  --json                  print {"ok", "claims"?, "checked"?, "redeemed"?: {"id", "redeemedAt", "redeemedBy"},
                          "error"?: {"code", "message"}}

  exit codes: 0 the receipt is valid (and matches every check asked for); 1 it is not (malformed,
  unsupported_algorithm, bad_signature, expired, action_mismatch, resource_mismatch, environment_mismatch,
  not_approved_by_humans, parameters_mismatch; with --redeem also already_redeemed, receipt_mismatch,
  redemption_lapsed, invalid_request: 0 only for the approval's first redemption); 2 usage error (bad arguments, unreadable file);
  3 the API could not be reached or answered another error (fetching the public key; redeeming: then whether it was
  redeemed is unknown)

${CONNECTION_USAGE}`;

export async function receiptCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'verify') return verify(rest, io);
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    out(io, RECEIPT_USAGE);
    return EXIT.ok;
  }
  err(io, `${sub ? `countersign receipt: unknown subcommand "${neutralize(sub)}"\n\n` : ''}${RECEIPT_USAGE}`);
  return EXIT.usage;
}

const verifyOptions = {
  ...connectionOptions,
  action: { type: 'string' },
  resource: { type: 'string' },
  environment: { type: 'string' },
  'approved-by-humans': { type: 'boolean', default: false },
  parameters: { type: 'string' },
  'public-key': { type: 'string' },
  redeem: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function verify(argv: readonly string[], io: CliIo): Promise<number> {
  let json = false;
  let apiContext = 'cannot fetch the public key: ';
  try {
    const { values, positionals, tokens } = parseArgs({ args: [...argv], allowPositionals: true, options: verifyOptions, tokens: true });
    json = values.json;
    // A check given twice would silently keep the last: `--environment production --environment staging`.
    const given = tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : []));
    const repeated = given.find((name, i) => given.indexOf(name) !== i && name !== 'json' && name !== 'help');
    if (repeated) throw new UsageError(`--${repeated} is given more than once: give each check once`);
    if (values.help) {
      out(io, RECEIPT_USAGE);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'a receipt (or - for stdin) is required' : 'one receipt at a time');
    const jws = (positionals[0] === '-' ? readTextFile('-', io.stdin) : positionals[0]!).trim();
    if (!jws) throw new UsageError('the receipt is empty');
    // An action is never empty: `--action ''` is a script that lost its value, not a check.
    if (values.action !== undefined && !values.action.trim()) throw new UsageError('--action cannot be empty');
    const options: VerifyReceiptOptions = {
      ...(values.action !== undefined ? { action: values.action } : {}),
      ...(values.resource !== undefined ? { resource: values.resource } : {}),
      ...(values.environment !== undefined ? { environment: values.environment } : {}),
      ...(values['approved-by-humans'] ? { approvedByHumans: true } : {}),
      ...(values.parameters !== undefined ? { parameters: readJsonFile(values.parameters, io.stdin) } : {}),
    };
    const checked = [
      ...(values.action !== undefined ? ['action'] : []),
      ...(values.resource !== undefined ? ['resource'] : []),
      ...(values.environment !== undefined ? ['environment'] : []),
      ...(values['approved-by-humans'] ? ['approvedByHumans'] : []),
      ...(values.parameters !== undefined ? ['parameters'] : []),
    ];
    const key: KeyObject = values['public-key'] !== undefined ? publicKeyFromFile(values['public-key']) : await publicKeyFromApi(endpointOf(values, io.env));

    let claims: ReceiptClaims;
    try {
      claims = verifyReceipt(jws, key, options);
    } catch (e) {
      if (!(e instanceof ReceiptError)) throw e;
      const error = { code: e.code, message: e.message };
      if (json) out(io, JSON.stringify({ ok: false, error }));
      else out(io, `receipt: INVALID (${e.code}: ${neutralize(e.message)})`);
      return EXIT.failed;
    }
    let redeemed: Redemption | undefined;
    if (values.redeem) {
      try {
        // One attempt: a retry after a lost answer would find its own redemption and read as someone else's.
        apiContext = 'cannot redeem (whether it was redeemed is unknown): ';
        const client = new Countersign({ endpoint: endpointOf(values, io.env), retry: { attempts: 1 } });
        redeemed = await client.redeem(claims.sub, jws, Object.hasOwn(options, 'parameters') ? { parameters: options.parameters } : {});
      } catch (e) {
        // The server's refusals say the receipt may not be acted on (exit 1, like an invalid receipt).
        if (!(e instanceof CountersignApiError) || !REDEMPTION_REFUSALS.has(e.code)) throw e;
        const error = { code: e.code, message: e.message };
        if (json) out(io, JSON.stringify({ ok: false, claims, error }));
        else out(io, `receipt: NOT REDEEMED (${e.code}: ${neutralize(e.message)})`);
        return EXIT.failed;
      }
    }
    if (json) {
      out(io, JSON.stringify({ ok: true, claims, checked, ...(redeemed ? { redeemed } : {}) }));
      return EXIT.ok;
    }
    const row = (label: string, value: string | undefined) => value !== undefined && out(io, `  ${label.padEnd(12)} ${neutralize(value)}`);
    out(io, 'receipt: valid');
    row('request', claims.sub);
    row('action', claims.action);
    row('resource', claims.resource);
    row('environment', claims.environment);
    row('requester', claims.requester);
    row('approvers', claims.approvers.length ? claims.approvers.join(', ') : '(none: allowed by policy)');
    row('rule', claims.rule);
    row('issued', formatUtc(new Date(claims.iat * 1000)) ?? String(claims.iat));
    row('expires', formatUtc(new Date(claims.exp * 1000)) ?? String(claims.exp));
    row(
      'parameters',
      values.parameters !== undefined
        ? `match ${values.parameters}`
        : `not checked (pass --parameters file.json); ${claims.paramsHmac ? `hmac ${claims.paramsHmac}` : `sha256 ${claims.paramsSha256}`}`,
    );
    const words: Record<string, string> = { approvedByHumans: 'approved by people' };
    row('checked', checked.length ? checked.map((c) => words[c] ?? c).join(', ') : 'signature and expiry only (pass --action, --resource, --environment)');
    if (redeemed) row('redeemed', `${formatUtc(redeemed.redeemedAt) ?? redeemed.redeemedAt} by ${redeemed.redeemedBy} (its first redemption)`);
    return EXIT.ok;
  } catch (e) {
    return exitCodeOf(io, e, { command: 'receipt verify', usageHint: `\n${RECEIPT_USAGE}`, json, apiContext });
  }
}
