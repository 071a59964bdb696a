/**
 * The HTTP edge shared by the API handlers (API Gateway HTTP API, payload 2.0): routing by routeKey, the caller's
 * identity from the authenticated request context (never the body), JSON bodies with the API's limits, and the
 * error envelope. No input makes a handler throw: everything unexpected becomes a logged 500.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Config } from '../core/config';
import { CountersignError } from '../core/errors';
import { callerIdentity, IdentityError } from '../core/identity';
import { jsonTextProblem } from '../core/json-keys';
import type * as z from '../core/zod';
import { endInvocation, errorName, type LogContext, logger, startInvocation } from './logger';
import { emfMetrics } from './metrics';

export type HttpEvent = APIGatewayProxyEventV2WithIAMAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;
/** How long API Gateway waits for the integration (the HTTP API allows 30 s; the CDK takes at most 29). */
export const API_INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * What a route needs of the Lambda context: the invocation's remaining time, which bounds any wait it makes; and what
 * the logger takes of it (adapters/logger.ts).
 */
export interface InvocationContext extends LogContext {
  getRemainingTimeInMillis(): number;
}
export type RouteHandler = (event: HttpEvent, context?: InvocationContext) => Promise<HttpResult>;

/** Largest JSON body the API accepts (docs/api.md "Errors": 413 over 256 KiB). */
export const MAX_BODY_BYTES = 256 * 1024;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode: status, headers: { 'content-type': 'application/json', ...SECURITY_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorResult(err: CountersignError): HttpResult {
  return json(err.status, err.toBody(), err.code === 'unavailable' ? { 'retry-after': '1' } : {});
}

/**
 * Whether an error is an AWS service failing or throttling (after the SDK's own retries), rather than a bug: the
 * caller should retry. The SDK marks throttling and transient errors `$retryable`; 5xx answers and network errors
 * are the service's, not the request's.
 */
export function dependencyFailure(err: unknown): boolean {
  const e = err as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; $fault?: string; code?: string; name?: string } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.$retryable || e.$fault === 'server' || (e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  if (
    /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TooManyRequests|LimitExceeded|KMSInternal|KeyUnavailable|DependencyTimeout|ServiceUnavailable|InternalServerError|InternalFailure/.test(
      e.name ?? '',
    )
  )
    return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(e.code ?? '');
}

/**
 * The authenticated principal in its canonical spelling: the IAM caller on AWS (the API key's principal in local
 * mode), or the person an IAM Identity Center session names when the config lists its role.
 */
export function caller(event: HttpEvent, config: Pick<Config, 'identityCenter'>): string {
  const iam = event.requestContext.authorizer?.iam;
  if (!iam?.userArn) throw new CountersignError('unauthorized', 'this route needs credentials');
  try {
    return callerIdentity(iam, config.identityCenter?.roles ?? []);
  } catch (err) {
    if (err instanceof IdentityError) throw new CountersignError('unauthorized', `the caller's identity cannot be used: it ${err.message}`);
    throw err;
  }
}

/** The request body as JSON, enforcing the content type and size limit of docs/api.md. */
export function jsonBody(event: HttpEvent): unknown {
  const contentType = String(event.headers?.['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (contentType !== 'application/json') {
    throw new CountersignError('unsupported_media_type', 'send the body as application/json');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new CountersignError('payload_too_large', 'the body is over 256 KiB');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CountersignError('invalid_request', 'the body is not valid JSON');
  }
  const problem = jsonTextProblem(text);
  if (problem) {
    const path = problem.path.join('.');
    throw problem.kind === 'duplicate_key'
      ? new CountersignError('invalid_request', `the body repeats the key ${path}: send each key once`, [{ path, message: 'key given twice' }])
      : new CountersignError('invalid_request', `the body holds an unpaired surrogate${path ? ` at ${path}` : ''}: send well-formed Unicode`, [
          { path, message: 'unpaired surrogate' },
        ]);
  }
  return value;
}

/** Parses with a schema, or answers 400 invalid_request with one detail per bad path. */
export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ path: [...i.path, key].join('.'), message: 'unknown field' }))
      : [{ path: i.path.join('.'), message: i.message }],
  );
  throw new CountersignError('invalid_request', 'the body does not match the schema', details);
}

/**
 * A Lambda handler dispatching on `routeKey` (e.g. `POST /v1/actions/{id}/cancel`). Each invocation's log lines carry
 * the Lambda context and, for a route with a request `{id}` that API Gateway authenticated, that request as
 * correlation id. The routes in `selfAuthenticated` (or all, with `true`) are open to anyone until the handler checks
 * the caller, so their path's id is not taken: anyone could otherwise write lines under any request's id. They, and
 * routes that learn their request later (a review link's, a Slack click's), call `correlate` themselves once the
 * caller is known. A line names the route by its key, never by its path, which may hold a review token.
 */
export function routeHandler(
  routes: Readonly<Record<string, RouteHandler>>,
  options: { readonly selfAuthenticated?: true | readonly string[] } = {},
): (event: HttpEvent, context?: InvocationContext) => Promise<HttpResult> {
  const open = options.selfAuthenticated;
  return async (event, context) => {
    const trusted = open !== true && !open?.includes(event.routeKey);
    startInvocation(context, trusted ? event.pathParameters?.id : undefined);
    let status = 500;
    try {
      const result = await answer(routes, event, context);
      status = result.statusCode ?? 200;
      logger.debug('answered', { route: event.routeKey, status: result.statusCode });
      return result;
    } finally {
      // Each answer counted by route and status class, and the invocation's metrics published as it answers.
      const route = Object.hasOwn(routes, event.routeKey) ? event.routeKey : '$default';
      emfMetrics.count('httpResponses', { Route: route, StatusClass: `${Math.trunc(status / 100)}xx` });
      emfMetrics.flush();
      endInvocation();
    }
  };
}

async function answer(routes: Readonly<Record<string, RouteHandler>>, event: HttpEvent, context: InvocationContext | undefined): Promise<HttpResult> {
  const route = Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
  try {
    if (!route) throw new CountersignError('not_found', `no route ${event.routeKey}`);
    return await route(event, context);
  } catch (err) {
    if (err instanceof CountersignError) return errorResult(err);
    if (dependencyFailure(err)) {
      logger.warn('dependency failure', { route: event.routeKey, error: errorName(err) });
      return errorResult(
        new CountersignError(
          'unavailable',
          'a backing service is unavailable; retry (with the same Idempotency-Key): what was recorded stays, and a retry completes it',
        ),
      );
    }
    logUnhandled(event.routeKey, err);
    return errorResult(new CountersignError('internal_error', 'internal error'));
  }
}

/** An error no code path expected (a bug): its name, message and stack, which the fix needs. */
export function logUnhandled(route: string, err: unknown): void {
  logger.error('unhandled error', { route, error: err instanceof Error ? err : errorName(err) });
}

/** `name=value` pairs: API Gateway payload 2.0 puts them in `cookies`; a raw Cookie header is the fallback. */
export function cookiesOf(event: HttpEvent): string[] {
  if (event.cookies?.length) return event.cookies;
  const header = event.headers?.cookie;
  return header ? header.split(';') : [];
}

/** Bytes a browser form may hold (the review page, the review-link form, the console's forms): ample for a reason. */
export const MAX_FORM_BYTES = 16 * 1024;

/**
 * A urlencoded form body's fields, read one way for every page that takes a form: over `MAX_FORM_BYTES` is
 * `payload_too_large`, and a field sent twice is `invalid_request` (which copy would count is a guess no decision may
 * rest on). Either way nothing is read, so nothing changes.
 */
export function formFields(event: HttpEvent): URLSearchParams {
  const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  if (Buffer.byteLength(text) > MAX_FORM_BYTES) throw new CountersignError('payload_too_large', 'the form is over 16 KiB; nothing was changed');
  const form = new URLSearchParams(text);
  const seen = new Set<string>();
  const repeated = [...form.keys()].find((name) => seen.size === seen.add(name).size);
  if (repeated !== undefined) {
    throw new CountersignError('invalid_request', 'each field of the form may be sent once; nothing was changed', [
      { path: repeated.slice(0, 64), message: 'sent more than once' },
    ]);
  }
  return form;
}
