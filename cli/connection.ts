/**
 * What the CLI's API commands share: the `--url` / `--api-key` options, exit codes, the ledger's public key (from a
 * file, offline, or from the API), and making untrusted text safe to print on a terminal.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { apiRequest, CountersignApiError, type Endpoint, EndpointError, expectOk, resolveEndpoint } from '../client/transport';
import { type CliInput, type CliIo, err, out, processStdin } from './io';
import { neutralize } from './terminal';

export { neutralize, shownTime } from './terminal';

/** Exit codes of the API commands. */
export const EXIT = { ok: 0, failed: 1, usage: 2, api: 3 } as const;

export const CONNECTION_USAGE = `connection (commands that call the API):
  --url <base url>     the API (default: COUNTERSIGN_URL, else http://127.0.0.1:8787)
  --api-key <key>      a local-mode API key (default: COUNTERSIGN_API_KEY; prefer the variable, arguments are
                       visible to other local users). Without a key, calls are signed with SigV4 using the default
                       AWS credential chain; the region comes from an execute-api host, else AWS_REGION.`;

/** parseArgs options for the connection. */
export const connectionOptions = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
} as const;

export { type CliInput, type CliIo, type CliOutput, err, out, processIo } from './io';

/** A usage problem: the command prints it with its usage and exits 2. */
export class UsageError extends Error {}

/** The API the options name, else COUNTERSIGN_URL and COUNTERSIGN_API_KEY (and AWS_REGION for SigV4) of `env`. */
export function endpointOf(values: { url?: string | undefined; 'api-key'?: string | undefined }, env: NodeJS.ProcessEnv): Endpoint {
  try {
    return resolveEndpoint(
      { ...(values.url !== undefined ? { url: values.url } : {}), ...(values['api-key'] !== undefined ? { apiKey: values['api-key'] } : {}) },
      env,
    );
  } catch (e) {
    if (e instanceof EndpointError) throw new UsageError(e.message);
    throw e;
  }
}

function p256(key: KeyObject, from: string): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new UsageError(`${from} is not an EC P-256 public key`);
  }
  return key;
}

/** The ledger key from a PEM file: no network. */
export function publicKeyFromFile(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return p256(createPublicKey(pem), file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${file} is not a PEM public key`);
  }
}

/** The ledger key from `GET /v1/audit/public-key`. */
export async function publicKeyFromApi(endpoint: Endpoint): Promise<KeyObject> {
  const { text } = expectOk(await apiRequest(endpoint, { method: 'GET', path: '/v1/audit/public-key' }));
  try {
    return p256(createPublicKey(text), 'the key the API answered');
  } catch {
    throw new CountersignApiError(200, 'invalid_response', 'GET /v1/audit/public-key did not answer an EC P-256 public key');
  }
}

/** A file's text; `-` is stdin (`stdin`: the process's own when not given). */
export function readTextFile(file: string, stdin: Pick<CliInput, 'readAll'> = processStdin): string {
  try {
    return file === '-' ? stdin.readAll() : readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file === '-' ? 'stdin' : file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function readJsonFile(file: string, stdin?: Pick<CliInput, 'readAll'>): unknown {
  const text = readTextFile(file, stdin);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not JSON: ${(e as Error).message}`);
  }
}

export interface CommandFailure {
  /** The command as typed after `countersign`, e.g. `audit show`, for the line on stderr. */
  readonly command: string;
  /** Printed under a usage error: the usage text, or where to find it. */
  readonly usageHint: string;
  /** The caller asked for --json: an API error is also printed on stdout as `{"ok": false, "error": {...}}`. */
  readonly json: boolean;
  /** With --json, usage errors too (code `usage`). @default false */
  readonly usageAsJson?: boolean;
  /** Fields added to that JSON document, e.g. the request id. */
  readonly jsonFields?: Readonly<Record<string, unknown>>;
  /** Said before an API error, e.g. `cannot fetch the public key: `. */
  readonly apiContext?: string;
}

/**
 * The exit code of what a command's body threw, reported in one line on stderr: API and network errors 3, usage
 * problems (bad arguments, an unusable endpoint) 2. Anything else is a bug and propagates.
 */
export function exitCodeOf(io: CliIo, e: unknown, failure: CommandFailure): number {
  const json = (code: string, message: string) => out(io, JSON.stringify({ ok: false, ...failure.jsonFields, error: { code, message } }));
  if (e instanceof CountersignApiError) {
    if (failure.json) json(e.code, e.message);
    err(io, `countersign ${failure.command}: ${failure.apiContext ?? ''}${describeApiError(e)}`);
    return EXIT.api;
  }
  if (e instanceof UsageError || e instanceof EndpointError || (e as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS')) {
    if (failure.json && failure.usageAsJson) json('usage', (e as Error).message);
    err(io, `countersign ${failure.command}: ${neutralize((e as Error).message)}\n${failure.usageHint}`);
    return EXIT.usage;
  }
  throw e;
}

/** An API or network error, in one line: `code: message (HTTP status)`. */
export function describeApiError(e: CountersignApiError): string {
  return neutralize(`${e.code}: ${e.message}${e.status ? ` (HTTP ${e.status})` : ''}`);
}
