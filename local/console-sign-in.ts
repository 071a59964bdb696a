/**
 * Console sign-in in local mode, the stand-in for the identity provider: a person signs in as any configured identity
 * by its API key (`local.apiKeys`). The gateway then passes that caller to the console's function as API Gateway's
 * IAM context, as it does for the API with `Authorization: Bearer`; the function takes the viewer from it.
 *
 * The browser holds only an opaque session id (`cs_local_session`, HttpOnly, SameSite=Lax, Path=/console), never the
 * key; sessions live in memory, so a restart signs everyone out. The sign-in form is refused from another site or
 * origin (login CSRF), and a wrong key changes nothing.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalCaller } from '../lambdas/core/config';
import { cookieValue } from '../lambdas/core/session';
import { documentHtml, text } from '../lambdas/pages/kit';

export const LOCAL_SESSION_COOKIE = 'cs_local_session';
const SESSION_HOURS = 8;
const MAX_FORM_BYTES = 16 * 1024;

interface Session {
  readonly key: string;
  readonly expires: number;
}

export class LocalConsoleSignIn {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly apiKeys: () => Readonly<Record<string, LocalCaller>>,
    /** Whether the config has `auth.oidc`: the page then offers that sign-in too. */
    private readonly oidc: () => boolean,
  ) {}

  /** The caller a request's session cookie names (its key still configured), if any. */
  callerOf(req: IncomingMessage): LocalCaller | undefined {
    const id = cookieValue(String(req.headers.cookie ?? '').split(';'), LOCAL_SESSION_COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session || session.expires < Date.now()) return undefined;
    const keys = this.apiKeys();
    return Object.hasOwn(keys, session.key) ? keys[session.key] : undefined;
  }

  /** Ends the request's session; answers the cookie that clears it in the browser. */
  signOut(req: IncomingMessage): string {
    const id = cookieValue(String(req.headers.cookie ?? '').split(';'), LOCAL_SESSION_COOKIE);
    if (id !== undefined) this.sessions.delete(id);
    return `${LOCAL_SESSION_COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Lax`;
  }

  /** `GET /console/sign-in` and `POST /console/sign-in` (form `key`). */
  async serve(req: IncomingMessage, res: ServerResponse, body: () => Promise<Buffer>): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (this.callerOf(req)) return redirect(res, '/console');
      return page(res, 200, this.form());
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, HEAD, POST');
      return page(res, 405, this.form('Sign in with the form.'));
    }
    const site = String(req.headers['sec-fetch-site'] ?? '');
    const origin = req.headers.origin;
    // A browser says where the form came from in Sec-Fetch-Site, which no page can forge; it sends `Origin: null`
    // for a form on a page served with `Referrer-Policy: no-referrer` (as this one is), so the Origin is what decides
    // only for a client that sends no Sec-Fetch-Site.
    if (
      (site && site !== 'same-origin' && site !== 'none') ||
      (!site && origin !== undefined && origin.toLowerCase() !== `http://${String(req.headers.host ?? '').toLowerCase()}`)
    ) {
      return page(res, 403, this.form('Sign in from this page: a form from another site is refused.'));
    }
    const raw = await body();
    const form = new URLSearchParams(raw.length <= MAX_FORM_BYTES ? raw.toString('utf8') : '');
    const key = (form.get('key') ?? '').trim();
    const keys = this.apiKeys();
    if (!key || !Object.hasOwn(keys, key)) return page(res, 401, this.form('That is not an API key of this config (local.apiKeys). Nothing was changed.'));
    const id = randomBytes(24).toString('base64url');
    // Expired sessions open nothing; they are dropped here, so a long-running local mode does not keep them all.
    for (const [other, session] of this.sessions) if (session.expires < Date.now()) this.sessions.delete(other);
    this.sessions.set(id, { key, expires: Date.now() + SESSION_HOURS * 3600_000 });
    res.writeHead(303, {
      location: '/console',
      'set-cookie': `${LOCAL_SESSION_COOKIE}=${id}; Path=/console; Max-Age=${SESSION_HOURS * 3600}; HttpOnly; SameSite=Lax`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
    res.end();
  }

  private form(error?: string): string {
    const oidc = this.oidc()
      ? '<p><a href="/v1/auth/login?to=console" data-testid="sign-in-oidc">Or sign in with the configured identity provider</a></p>'
      : '';
    return documentHtml(
      'Sign in · Countersign',
      `<header class="top"><p class="brand">Countersign console · local mode</p><h1>Sign in to the Countersign console</h1></header>
${error ? `<div class="notice notice-error" role="alert" data-testid="error"><p>${text(error)}</p></div>` : ''}
<section aria-labelledby="h-key">
  <h2 id="h-key">Sign in as a configured identity</h2>
  <p>In local mode you sign in as any identity of the config by its API key (<code>local.apiKeys</code> in
  <code>countersign.config.yaml</code>). On AWS the console signs people in with the configured OIDC provider.</p>
  <form method="post" action="/console/sign-in" data-testid="sign-in-form">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" required autocomplete="current-password" data-testid="key" style="display:block;width:100%;font:inherit;padding:.5rem .6rem;border:1px solid #b9c0cc;border-radius:6px">
    <div class="buttons"><button type="submit" class="approve" data-testid="sign-in">Sign in</button></div>
  </form>
  ${oidc}
</section>`,
    );
  }
}

function page(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
  res.end();
}
