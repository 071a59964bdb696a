/**
 * The local API Gateway: an HTTP server that serves the routes of the synthesized HTTP API, turning each request into
 * an API Gateway HTTP API payload 2.0 event for the same handler the route targets on AWS. Routes the template
 * marks AWS_IAM take `Authorization: Bearer <key>` with the key's principal from the config's `local.apiKeys` in
 * place of SigV4. It also serves the local-only pages: `/healthz`, the inbox, and `POST /_local/schedules/run`, which
 * runs every scheduled rule's targets once, now.
 *
 * It answers only a loopback `Host` (DNS rebinding), and a write to `/_local/*` only from local mode's own origin or a
 * client that is not a browser, as JSON (cross-site requests): see ./loopback.ts. The API routes are left as API
 * Gateway serves them: bearer (SigV4 on AWS) authenticated, with no CORS, so a browser cannot call them cross-site
 * with credentials, and the review pages authenticate each call by their token.
 */

import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpEvent } from '../lambdas/adapters/http';
import type { LocalCaller } from '../lambdas/core/config';
import { METRIC_NAMESPACE } from '../lambdas/core/metrics';
import { type CfnTemplate, LOCAL_ACCOUNT, type LocalResourceNames, resolveIntrinsics, resourcesOfType } from './cfn';
import { LocalConsoleSignIn } from './console-sign-in';
import type { LocalFaults } from './faults';
import type { LocalInbox } from './inbox';
import { crossSiteWriteProblem, isLoopbackHost, refuseHost } from './loopback';
import type { LocalMetrics } from './metrics';
import type { ScheduleRun } from './schedules';

export interface GatewayRoute {
  readonly routeKey: string;
  readonly method: string;
  readonly segments: readonly string[];
  readonly auth: 'AWS_IAM' | 'NONE';
  /** Logical id of the Lambda function the route invokes. */
  readonly functionId: string;
  /** The integration's `TimeoutInMillis` (HTTP APIs allow 50 ms to 30 s). @default 30000 */
  readonly integrationTimeoutMs?: number;
}

/** API Gateway's own limit on a request body. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** An HTTP API integration's timeout when the template sets none, and its most. */
const MAX_INTEGRATION_TIMEOUT_MS = 30_000;
const INTEGRATION_TIMED_OUT = Symbol('integration timed out');

/** Reads the HTTP API routes from the template: route key, authorization type and target function. */
export function routesFromTemplate(template: CfnTemplate, names: LocalResourceNames, functionIdOfArn: (arn: string) => string): GatewayRoute[] {
  const integrations = new Map(resourcesOfType(template, 'AWS::ApiGatewayV2::Integration'));
  return resourcesOfType(template, 'AWS::ApiGatewayV2::Route').map(([id, route]) => {
    const props = route.Properties ?? {};
    const routeKey = String(props.RouteKey);
    const [method = '', path = ''] = routeKey.split(' ');
    const auth = props.AuthorizationType === 'AWS_IAM' ? 'AWS_IAM' : props.AuthorizationType === 'NONE' || !props.AuthorizationType ? 'NONE' : undefined;
    if (!auth) throw new Error(`route ${id} (${routeKey}): authorization type ${String(props.AuthorizationType)} is not supported in local mode`);
    if (path.includes('+}') || method === 'ANY' || routeKey === '$default') {
      throw new Error(`route ${id} (${routeKey}): greedy paths, ANY and $default are not supported in local mode`);
    }
    const target = String(resolveIntrinsics(props.Target, { ref: (r) => r, getAtt: () => undefined }, `${id}.Target`));
    const integration = integrations.get(target.replace(/^integrations\//, ''));
    if (!integration) throw new Error(`route ${id} (${routeKey}): target ${target} is not an integration in the template`);
    const uri = String(resolveIntrinsics(integration.Properties?.IntegrationUri, names, `${target}.IntegrationUri`));
    const timeout = integration.Properties?.TimeoutInMillis;
    return {
      routeKey,
      method,
      segments: path.split('/').slice(1),
      auth,
      functionId: functionIdOfArn(uri),
      ...(timeout !== undefined ? { integrationTimeoutMs: Number(timeout) } : {}),
    };
  });
}

export interface LocalGatewayOptions {
  readonly routes: readonly GatewayRoute[];
  readonly invoke: (functionId: string, event: HttpEvent) => Promise<unknown>;
  /** Bearer key -> principal (optionally with the unique id AWS would report). */
  readonly apiKeys: () => Readonly<Record<string, LocalCaller>>;
  readonly inbox: LocalInbox;
  /** True once every part of the runtime is up. */
  readonly ready: () => boolean;
  /** Prints one line per API call (route key, never the raw path: it may hold a review token). @default false */
  readonly accessLog?: boolean;
  /** Runs every scheduled rule's targets once now (`POST /_local/schedules/run`). @default the route is absent */
  readonly runSchedules?: () => Promise<readonly ScheduleRun[]>;
  /** Fault injection (`/_local/faults`, and channel deliveries to the inbox). @default off: the routes are absent */
  readonly faults?: LocalFaults;
  /** Whether the config has `auth.oidc` (the console's sign-in page then offers it). @default false */
  readonly oidc?: () => boolean;
  /** The functions' metrics (`GET /_local/metrics` and `/_local/metrics.html`). @default the routes are absent */
  readonly metrics?: LocalMetrics;
}

interface MatchedRoute {
  readonly route: GatewayRoute;
  readonly pathParameters: Record<string, string>;
}

export class LocalGateway {
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    void this.serve(req, res).catch((err: unknown) => {
      console.error('[local gateway] internal error:', err);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      else res.destroy();
    });
  };

  /** Console sign-in by API key: the stand-in for the identity provider (./console-sign-in.ts). */
  private readonly consoleSignIn: LocalConsoleSignIn;

  constructor(private readonly options: LocalGatewayOptions) {
    this.consoleSignIn = new LocalConsoleSignIn(options.apiKeys, options.oidc ?? (() => false));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    // Also checked by the server (listenLoopback); checked here too, so the gateway is safe on any server.
    if (!isLoopbackHost(req.headers.host)) return refuseHost(req, res);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/_local/')) {
      const problem = crossSiteWriteProblem(req);
      if (problem) return sendError(res, problem.status, problem.code, problem.message);
    }
    if (await this.serveLocalPage(method, url, req, res)) return;

    const matched = this.match(method, url.pathname);
    if (!matched) return sendError(res, 404, 'not_found', `no route ${method} ${url.pathname}`);
    if (!this.options.ready()) return sendError(res, 503, 'unavailable', 'local mode is still starting');

    let body: Buffer;
    try {
      body = await readBody(req, MAX_REQUEST_BYTES);
    } catch {
      return sendError(res, 413, 'payload_too_large', "the body is over API Gateway's 10 MB limit");
    }
    let principal: LocalCaller | undefined;
    const auth = String(req.headers.authorization ?? '');
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    const keys = this.options.apiKeys();
    if (matched.route.auth === 'AWS_IAM') {
      principal = bearer && Object.hasOwn(keys, bearer) ? keys[bearer] : undefined;
      if (!principal) return sendError(res, 401, 'unauthorized', 'send Authorization: Bearer <API key from local.apiKeys>');
    } else if (isConsolePath(url.pathname)) {
      // The console's viewer, as an authorizer would give it: a browser's local sign-in, or a script's Bearer key.
      if (auth) {
        principal = bearer && Object.hasOwn(keys, bearer) ? keys[bearer] : undefined;
        if (!principal) return sendError(res, 401, 'unauthorized', 'send Authorization: Bearer <API key from local.apiKeys>');
      } else principal = this.consoleSignIn.callerOf(req);
    }
    const event = toEvent(req, url, body, matched, principal);
    let result: unknown;
    const invoked = this.options.invoke(matched.route.functionId, event);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof INTEGRATION_TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(INTEGRATION_TIMED_OUT), matched.route.integrationTimeoutMs ?? MAX_INTEGRATION_TIMEOUT_MS);
    });
    try {
      result = await Promise.race([invoked, timedOut]);
    } catch (err) {
      // What an HTTP API answers when its Lambda integration fails: the function threw, timed out (Sandbox.Timedout)
      // or was throttled (Lambda's 429 is not passed on).
      const named = err instanceof Error && err.name !== 'Error' ? `${err.name}: ${err.message}` : err;
      console.error(`[local gateway] ${matched.route.routeKey} failed:`, named);
      sendJson(res, 500, { message: 'Internal Server Error' });
      return;
    } finally {
      clearTimeout(timer);
    }
    if (result === INTEGRATION_TIMED_OUT) {
      // The integration timeout: the function may still be running (it ends at its own timeout), the caller is answered.
      invoked.catch(() => undefined);
      console.error(
        `[local gateway] ${matched.route.routeKey}: the integration timed out after ${matched.route.integrationTimeoutMs ?? MAX_INTEGRATION_TIMEOUT_MS} ms`,
      );
      sendJson(res, 503, { message: 'Service Unavailable' });
      return;
    }
    if (method === 'POST' && url.pathname === '/console/sign-out' && isRedirect(result)) {
      // The console signed its viewer out: end the local sign-in too.
      const structured = result as APIGatewayProxyStructuredResultV2;
      structured.cookies = [...(structured.cookies ?? []), this.consoleSignIn.signOut(req)];
    }
    const status = writeResult(res, result);
    if (this.options.accessLog) console.log(`${matched.route.routeKey} ${status} ${Date.now() - started}ms`);
  }

  private async serveLocalPage(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = url.pathname;
    if (path === '/healthz' && method === 'GET') {
      const ok = this.options.ready();
      sendJson(res, ok ? 200 : 503, { ok });
      return true;
    }
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      // Where people start: the console (its sign-in page, then the inbox).
      res.writeHead(302, { location: '/console', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
      res.end();
      return true;
    }
    if (path === '/console/sign-in' && this.options.ready()) {
      await this.consoleSignIn.serve(req, res, () => readBody(req, MAX_REQUEST_BYTES));
      return true;
    }
    if (path === '/_local' && (method === 'GET' || method === 'HEAD')) {
      // What local mode serves besides the API: the local inbox, where each message has its review link.
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      res.end(method === 'HEAD' ? undefined : homePage(this.options.inbox.list().length));
      return true;
    }
    if (path === '/_local/inbox.json' && method === 'GET') {
      // `?actionId=` keeps one request's messages: a script waiting for one email need not copy the whole inbox.
      const actionId = url.searchParams.get('actionId');
      const entries = this.options.inbox.list();
      sendJson(res, 200, actionId === null ? entries : entries.filter((e) => e.actionId === actionId));
      return true;
    }
    if (path === '/_local/inbox' && method === 'GET') {
      const html = this.options.inbox.renderHtml();
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'x-content-type-options': 'nosniff',
      });
      res.end(html);
      return true;
    }
    if (path === '/_local/inbox' && method === 'POST') {
      // A message added by hand (the functions' messages reach the inbox through the local SES, Slack and Teams).
      try {
        const entry = this.options.inbox.add(JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8')));
        sendJson(res, 201, entry);
      } catch (err) {
        sendError(res, 400, 'invalid_request', `not an inbox message: ${err instanceof Error ? err.message.slice(0, 300) : 'unreadable'}`);
      }
      return true;
    }
    if (path === '/_local/metrics' && method === 'GET' && this.options.metrics) {
      // Each series (metric and dimension values, the total with none) added up: what CloudWatch would get.
      sendJson(res, 200, { namespace: METRIC_NAMESPACE, metrics: this.options.metrics.list() });
      return true;
    }
    if (path === '/_local/metrics.html' && method === 'GET' && this.options.metrics) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      res.end(this.options.metrics.renderHtml());
      return true;
    }
    if (path === '/_local/faults' && this.options.faults) {
      if (method === 'GET') sendJson(res, 200, { rules: this.options.faults.list() });
      else if (method === 'DELETE') {
        this.options.faults.clear();
        sendJson(res, 200, { rules: [] });
      } else if (method === 'POST') {
        try {
          sendJson(res, 201, this.options.faults.add(JSON.parse((await readBody(req, 64 * 1024)).toString('utf8'))));
        } catch (err) {
          sendError(res, 400, 'invalid_request', `not a fault rule: ${err instanceof Error ? err.message.slice(0, 300) : 'unreadable'}`);
        }
      } else sendError(res, 405, 'method_not_allowed', 'GET, POST or DELETE');
      return true;
    }
    if (path === '/_local/schedules/run' && method === 'POST' && this.options.runSchedules) {
      if (!this.options.ready()) {
        sendError(res, 503, 'unavailable', 'local mode is still starting');
        return true;
      }
      // Each run's outcome is in the answer; a failed run is reported, not an error of this call.
      sendJson(res, 200, { ran: await this.options.runSchedules() });
      return true;
    }
    return false;
  }

  /** API Gateway's precedence: the route with the most literal segments wins over path variables. */
  private match(method: string, path: string): MatchedRoute | undefined {
    const segments = path.split('/').slice(1);
    let best: (MatchedRoute & { literals: number }) | undefined;
    for (const route of this.options.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const pathParameters: Record<string, string> = {};
      let literals = 0;
      const fits = route.segments.every((pattern, i) => {
        const actual = segments[i] ?? '';
        const variable = /^\{(\w+)\}$/.exec(pattern)?.[1];
        if (variable) {
          if (!actual) return false;
          pathParameters[variable] = safeDecode(actual);
          return true;
        }
        literals++;
        return pattern === actual;
      });
      if (fits && (!best || literals > best.literals)) best = { route, pathParameters, literals };
    }
    return best;
  }
}

/**
 * The `authorizer.iam` context API Gateway would give this caller: the account from the ARN, and a unique id of AWS's
 * shape (`AROA…:<session>` for a role session, stable per role) unless the key names one.
 */
export function localIamContext(caller: LocalCaller) {
  const userArn = typeof caller === 'string' ? caller : caller.principal;
  const account = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/i.exec(userArn)?.[1] ?? LOCAL_ACCOUNT;
  const session = /:assumed-role\/([^/]+)\/(.+)$/i.exec(userArn);
  const uniqueId = (prefix: string, of: string) => `${prefix}${createHash('sha256').update(of.toLowerCase()).digest('hex').slice(0, 17).toUpperCase()}`;
  const userId =
    (typeof caller === 'string' ? undefined : caller.userId) ??
    (session ? `${uniqueId('AROA', `${account}/${session[1]}`)}:${session[2]}` : userArn.startsWith('arn:') ? uniqueId('AIDA', userArn) : userArn);
  return { accessKey: 'LOCALACCESSKEY', accountId: account, callerId: userId, cognitoIdentity: null, principalOrgId: null, userArn, userId };
}

function toEvent(req: IncomingMessage, url: URL, body: Buffer, matched: MatchedRoute, principal: LocalCaller | undefined): HttpEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'cookie' || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const contentType = String(req.headers['content-type'] ?? '');
  const textual = body.length === 0 || /^(text\/|application\/(json|x-www-form-urlencoded|xml|[\w.+-]+\+json))/i.test(contentType);
  const now = new Date();
  const event = {
    version: '2.0',
    routeKey: matched.route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
    ...(url.search ? { queryStringParameters: query } : {}),
    ...(Object.keys(matched.pathParameters).length ? { pathParameters: matched.pathParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: 'local',
      domainName: String(req.headers.host ?? '127.0.0.1'),
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: String(req.headers['user-agent'] ?? ''),
      },
      requestId: randomUUID(),
      routeKey: matched.route.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(principal
        ? {
            authorizer: { iam: localIamContext(principal) },
          }
        : {}),
    },
    ...(body.length ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
  return event as unknown as HttpEvent;
}

/** Maps a handler's answer to HTTP as API Gateway's payload 2.0 does (a bare value is a 200 JSON body). */
function writeResult(res: ServerResponse, result: unknown): number {
  const structured = result !== null && typeof result === 'object' && 'statusCode' in result ? (result as APIGatewayProxyStructuredResultV2) : undefined;
  if (!structured) {
    sendJson(res, 200, result);
    return 200;
  }
  const status = structured.statusCode ?? 200;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(structured.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  const body = structured.body === undefined ? Buffer.alloc(0) : Buffer.from(structured.body, structured.isBase64Encoded ? 'base64' : 'utf8');
  res.writeHead(status, { ...headers, 'content-length': body.length });
  res.end(body);
  return status;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message, details: [] } });
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const isConsolePath = (path: string) => path === '/console' || path.startsWith('/console/');

function isRedirect(result: unknown): boolean {
  const status = (result as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 300 && status < 400;
}

/** `GET /_local`: a small page that leads to the console and the local inbox, where approvers find their review links. */
function homePage(messages: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Countersign local mode</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.4rem} a.start{display:inline-block;padding:.6rem 1rem;background:#1a7f37;color:#fff;border-radius:8px;text-decoration:none;font-weight:600}
li{margin:.3rem 0} code{font-size:.9em}
</style></head>
<body><h1>Countersign local mode</h1>
<p>Approvers start in the local inbox: each approval request sent by email, Slack or Teams is there, with a link to
its review page, where they approve or deny.</p>
<p><a class="start" href="/_local/inbox" data-testid="inbox-link">Open the local inbox</a> (${messages} message${messages === 1 ? '' : 's'})</p>
<ul>
<li><a href="/console">/console</a>: the console (sign in with an API key from <code>local.apiKeys</code>)</li>
<li><a href="/_local/inbox.json">/_local/inbox.json</a>: the same messages as JSON</li>
<li><a href="/_local/metrics.html">/_local/metrics.html</a>: the metrics the functions published, as CloudWatch would get them (<a href="/_local/metrics">JSON</a>)</li>
<li><a href="/healthz">/healthz</a>: whether local mode is ready</li>
<li>The API is under <code>/v1/</code>: agents ask with <code>POST /v1/actions</code> and an API key from <code>local.apiKeys</code>.</li>
</ul>
</body></html>`;
}
