/**
 * The HTTP transport to the Countersign API, shared by the CLI and the TypeScript client: where the API is, how a
 * call is authenticated (a bearer API key in local mode, SigV4 for API Gateway's IAM auth on AWS), and the API's
 * error envelope as a typed error. Global fetch only; credentials and keys are never logged or put in messages.
 */
import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** The API when neither an argument nor COUNTERSIGN_URL says otherwise: local mode (`npm start`). */
export const DEFAULT_URL = 'http://127.0.0.1:8787';

/** A call that takes longer than this is abandoned (unless the caller passes its own signal). */
export const DEFAULT_TIMEOUT_MS = 30_000;

type SignerInit = ConstructorParameters<typeof SignatureV4>[0];
export type CredentialProvider = Exclude<SignerInit['credentials'], { accessKeyId: string }>;

export type EndpointAuth =
  | { readonly kind: 'bearer'; readonly apiKey: string }
  | { readonly kind: 'sigv4'; readonly region: string; readonly credentials: CredentialProvider };

export interface Endpoint {
  /** The API's base URL, without a trailing slash (it may carry a stage path, e.g. `/prod`). */
  readonly url: string;
  readonly auth: EndpointAuth;
}

export interface EndpointOptions {
  readonly url?: string;
  readonly apiKey?: string;
  /** SigV4 only: overrides the region taken from the host or the environment. */
  readonly region?: string;
  /** SigV4 only: overrides the default AWS credential chain. */
  readonly credentials?: CredentialProvider;
}

/** The endpoint cannot be used as configured (bad URL, no region for SigV4, no AWS credentials). */
export class EndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointError';
  }
}

/** A non-2xx answer (code and message from the API's error envelope), or `network_error` / `timeout` (status 0). */
export class CountersignApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly unknown[] = [],
  ) {
    super(message);
    this.name = 'CountersignApiError';
  }
}

const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/i;

/** The region of an `*.execute-api.<region>.amazonaws.com` host, else undefined. */
export function regionFromHost(hostname: string): string | undefined {
  return EXECUTE_API_HOST.exec(hostname)?.[1]?.toLowerCase();
}

const nonEmpty = (value: string | undefined): string | undefined => (value && value.trim() !== '' ? value.trim() : undefined);

/**
 * Where the API is and how to authenticate: `url` / `apiKey`, else COUNTERSIGN_URL / COUNTERSIGN_API_KEY, else
 * local mode's URL. With an API key, `Authorization: Bearer`; without, SigV4 (service execute-api) with the default
 * AWS credential chain, the region from an execute-api host, else AWS_REGION / AWS_DEFAULT_REGION.
 */
export function resolveEndpoint(options: EndpointOptions = {}, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const raw = nonEmpty(options.url) ?? nonEmpty(env.COUNTERSIGN_URL) ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new EndpointError(`the API URL ${JSON.stringify(raw)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new EndpointError(`the API URL must be http(s), not ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new EndpointError('the API URL must not carry credentials; use an API key or AWS credentials');
  if (parsed.search || parsed.hash) throw new EndpointError('the API URL must not have a query or fragment');
  const url = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;

  const apiKey = nonEmpty(options.apiKey) ?? nonEmpty(env.COUNTERSIGN_API_KEY);
  if (apiKey) return { url, auth: { kind: 'bearer', apiKey } };

  const region = nonEmpty(options.region) ?? regionFromHost(parsed.hostname) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (!region) {
    throw new EndpointError(
      `no API key and no AWS region for ${parsed.host}: set COUNTERSIGN_API_KEY (local mode) or AWS_REGION (to sign with AWS credentials)`,
    );
  }
  return { url, auth: { kind: 'sigv4', region, credentials: options.credentials ?? defaultProvider() } };
}

/**
 * SHA-256 (and HMAC-SHA-256 with a secret) on node:crypto, in the shape SignatureV4 asks for: what
 * @aws-crypto/sha256-js does, without the dependency.
 */
export class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface ApiRequest {
  readonly method: string;
  /** The API path, e.g. `/v1/actions/act_123/audit` (path segments already encoded). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** @default DEFAULT_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body as JSON; a body that is not JSON throws CountersignApiError `invalid_response`. */
  json<T = unknown>(): T;
}

/** RFC 3986 encoding, as SigV4 canonicalizes query strings (URLSearchParams would write a space as `+`). */
const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Calls the API. Answers every HTTP status (see expectOk); network failures and timeouts throw CountersignApiError. */
export async function apiRequest(endpoint: Endpoint, request: ApiRequest): Promise<ApiResponse> {
  if (!request.path.startsWith('/')) throw new TypeError('an API path starts with /');
  const base = new URL(endpoint.url);
  const path = `${base.pathname.replace(/\/+$/, '')}${request.path}`;
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) query[key] = String(value);
  const search = Object.entries(query)
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .join('&');
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const method = request.method.toUpperCase();

  let headers: Record<string, string> = {
    accept: 'application/json',
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...request.headers,
  };
  if (endpoint.auth.kind === 'bearer') {
    headers.authorization = `Bearer ${endpoint.auth.apiKey}`;
  } else {
    headers = await signRequest(endpoint.auth, { method, base, path, query, headers, body });
  }

  const timeout = AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${base.origin}${path}${search ? `?${search}` : ''}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal,
      redirect: 'manual',
    });
    text = await res.text();
  } catch (err) {
    if (request.signal?.aborted) throw err; // the caller's own abort
    if (timeout.aborted) throw new CountersignApiError(0, 'timeout', `no answer from ${base.origin} within ${request.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CountersignApiError(0, 'network_error', `cannot reach ${base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const status = res.status;
  return {
    status,
    headers: res.headers,
    text,
    json<T>(): T {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new CountersignApiError(status, 'invalid_response', `the API answered HTTP ${status} with a body that is not JSON`);
      }
    },
  };
}

async function signRequest(
  auth: Extract<EndpointAuth, { kind: 'sigv4' }>,
  request: { method: string; base: URL; path: string; query: Record<string, string>; headers: Record<string, string>; body: string | undefined },
): Promise<Record<string, string>> {
  let credentials;
  try {
    credentials = await auth.credentials();
  } catch (err) {
    throw new EndpointError(`no AWS credentials to sign the request with (${(err as Error).name}); set COUNTERSIGN_API_KEY in local mode`);
  }
  const signer = new SignatureV4({ service: 'execute-api', region: auth.region, credentials, sha256: Sha256 });
  const port = request.base.port ? Number(request.base.port) : undefined;
  const signed = await signer.sign({
    method: request.method,
    protocol: request.base.protocol,
    hostname: request.base.hostname,
    ...(port !== undefined ? { port } : {}),
    path: request.path,
    query: request.query,
    headers: { ...request.headers, host: request.base.host },
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  // fetch sets Host itself, from the same URL.
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; details?: unknown };
  message?: unknown;
}

/** The response when its status is 2xx; otherwise throws CountersignApiError with the API's code and message. */
export function expectOk(response: ApiResponse): ApiResponse {
  if (response.status >= 200 && response.status < 300) return response;
  let body: ErrorBody | undefined;
  try {
    const parsed: unknown = JSON.parse(response.text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as ErrorBody;
  } catch {
    body = undefined;
  }
  const envelope = typeof body?.error === 'object' && body.error !== null ? body.error : undefined;
  const code = typeof envelope?.code === 'string' && envelope.code ? envelope.code : `http_${response.status}`;
  // API Gateway's own answers (e.g. a missing signature) are `{"message": "..."}`.
  const message =
    typeof envelope?.message === 'string' ? envelope.message : typeof body?.message === 'string' ? body.message : `the API answered HTTP ${response.status}`;
  const details = Array.isArray(envelope?.details) ? envelope.details : [];
  throw new CountersignApiError(response.status, code, message, details);
}
