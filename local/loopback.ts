/**
 * What a browser may ask of local mode's servers. They listen on 127.0.0.1 only, but a web page the user opens can
 * still reach them: through DNS rebinding (a name the attacker controls, first resolving to their server and then to
 * 127.0.0.1, makes the page same-origin with local mode in the browser's eyes) or with a cross-site "simple" request
 * (a form or `fetch(..., { mode: 'no-cors' })` POST with a `text/plain` body needs no CORS preflight). So:
 *
 * - every server answers only a `Host` naming loopback as local mode prints it: `127.0.0.1`, `localhost` or `[::1]`,
 *   with any port, in any case. Anything else is `421 misdirected_request` before any handler runs: a rebound name
 *   (`evil.example`), a look-alike (`127.0.0.1.evil.example`, `localhost.`), another loopback address (`127.0.0.2`:
 *   local mode never listens there), an empty or missing `Host`;
 * - writes to the local-only routes (`/_local/*`) must come from local mode's own origin or from a client that is not
 *   a browser: see `crossSiteWriteProblem`.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

const GUARDED = Symbol('countersign.loopbackHost');

/** Whether a `Host` header value names loopback as local mode serves it (see the module comment). */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}

/** `421 misdirected_request` with the error body every local answer uses. The offered host is quoted, shortened. */
export function refuseHost(req: IncomingMessage, res: ServerResponse): void {
  const host = req.headers.host;
  const offered = host === undefined ? 'no Host header' : `Host ${JSON.stringify(host.slice(0, 100))}`;
  sendLocalError(
    res,
    421,
    'misdirected_request',
    `local mode answers only requests for 127.0.0.1, localhost or [::1] (got ${offered}); open it at http://127.0.0.1:<port>`,
  );
}

/**
 * Makes `server` refuse requests whose `Host` is not loopback, before any of its own request listeners sees them.
 * Works for servers local mode did not write (dynalite) as well as its own.
 */
export function guardLoopbackHost(server: Server, options: { readonly browsers: boolean } = { browsers: true }): void {
  if ((server as { [GUARDED]?: boolean })[GUARDED]) return;
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!isLoopbackHost(req.headers.host)) return refuseHost(req, res);
    if (!options.browsers && fromBrowser(req)) return refuseBrowser(res);
    for (const listener of listeners) listener.call(server, req, res);
  });
  (server as { [GUARDED]?: boolean })[GUARDED] = true;
}

/**
 * Whether a request comes from a web page: browsers send `Origin` on every cross-origin request and CORS preflight,
 * and `Sec-Fetch-Site` and `Sec-Fetch-Dest` on every request; the AWS SDK sends none of them (Node's fetch sends only
 * `Sec-Fetch-Mode`). A page that calls 127.0.0.1 directly sends a loopback `Host`, so only this tells the local
 * DynamoDB, KMS, Step Functions and Secrets Manager endpoints (dynalite answers CORS with `*`) that a browser asks.
 */
function fromBrowser(req: IncomingMessage): boolean {
  return req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined || req.headers['sec-fetch-dest'] !== undefined;
}

function refuseBrowser(res: ServerResponse): void {
  sendLocalError(res, 403, 'browser_request', 'the local AWS endpoints answer the AWS SDK only, never a web page');
}

/** Methods that change nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a request to a local-only route may not change anything, or undefined when it may. Safe methods always may.
 * A write must carry `Content-Type: application/json` (a browser sends that cross-origin only after a CORS preflight,
 * which local mode never grants), must not say it comes from another site (`Sec-Fetch-Site` other than `same-origin`
 * or `none`; `same-site` too, since a page on another localhost port is another site's page), and an `Origin`, when
 * present, must be local mode's own (`http://` and the request's loopback `Host`). Clients that are not browsers
 * (the functions' outbox, curl, the tests) send neither header and only need the content type.
 */
export function crossSiteWriteProblem(req: IncomingMessage): { status: 403 | 415; code: string; message: string } | undefined {
  if (SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return {
      status: 403,
      code: 'cross_site_request',
      message: `local mode refuses writes from another site (Sec-Fetch-Site: ${JSON.stringify(site.slice(0, 40))})`,
    };
  }
  const origin = header(req, 'origin');
  if (origin !== undefined && origin.toLowerCase() !== `http://${String(req.headers.host ?? '').toLowerCase()}`) {
    return {
      status: 403,
      code: 'cross_site_request',
      message: `local mode refuses writes from another origin (Origin: ${JSON.stringify(origin.slice(0, 100))})`,
    };
  }
  const mediaType = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    return { status: 415, code: 'unsupported_media_type', message: 'local mode takes writes to /_local/ only as Content-Type: application/json' };
  }
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function sendLocalError(res: ServerResponse, status: number, code: string, message: string): void {
  const text = JSON.stringify({ error: { code, message, details: [] } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  res.end(text);
}
