/**
 * Establishing an approver's identity from a channel card, end to end against local mode: the request's landing
 * page, "email me my personal review link", and OIDC sign-in against a real OpenID provider (oidc-provider, started
 * here on 127.0.0.1) driven with plain fetch and a small cookie jar.
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import type { HttpEvent } from '../../lambdas/adapters/http';
import type { ApproverPorts } from '../../lambdas/app/vote';
import type { ApprovalState } from '../../lambdas/core/approval';
import { parseConfig } from '../../lambdas/core/config-yaml';
import type { MacPort } from '../../lambdas/core/review-token';
import { seal } from '../../lambdas/core/session';
import { memoryPorts } from '../fixtures/memory-ports';

// The step-up request is the test's (these tests are about sign-in, not the ledger).
vi.mock('../../lambdas/app/vote', async (original) => ({
  ...(await original<typeof import('../../lambdas/app/vote')>()),
  requestState: async (_ports: unknown, id: string) => (id === 'act_stepup' ? STEP_UP_STATE : undefined),
}));

import { checkStepUp, signedInAs, signInRedirect, startSignIn } from '../../lambdas/decision/identity';
import { REVIEW_PAGE_HEADERS } from '../../lambdas/decision/review-page';
import { freePort, listen, serveProvider, throughProvider as signIn } from '../fixtures/oidc';
import { api, eventually, type RunningCountersign, startCountersign } from './harness';

const AGENT = 'agent-key-1';
const CLIENT_ID = 'countersign-test';
const CLIENT_SECRET = 'a-client-secret-only-these-tests-know';
const BOB = 'arn:aws:iam::000000000000:user/bob';

/** The provider's accounts: the login typed into its dev sign-in form is the account id. */
const ACCOUNTS: Record<string, { email: string; email_verified: boolean }> = {
  'alice@example.com': { email: 'alice@example.com', email_verified: true },
  'mallory@example.com': { email: 'mallory@example.com', email_verified: true },
  'carol@example.com': { email: 'carol@example.com', email_verified: true },
  // An approver's address the provider has not verified: it must not be taken as bob's identity.
  bob: { email: 'bob@example.com', email_verified: false },
};

interface InboxMessage {
  channel: string;
  actionId: string;
  to: string;
  subject: string;
  reviewUrl?: string;
}

/** Enough of a browser's cookie handling (RFC 6265 paths, Max-Age) to carry both servers' cookies on 127.0.0.1. */
class Browser {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  async fetch(url: string, init: { method?: string; form?: Record<string, string>; cookies?: boolean } = {}): Promise<Response> {
    const target = new URL(url);
    const cookie = init.cookies === false ? '' : this.cookieHeader(target);
    const res = await fetch(target, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    this.store(target, res.headers.getSetCookie());
    return res;
  }

  value(name: string): string | undefined {
    return [...this.cookies.values()].find((c) => c.name === name)?.value;
  }

  set(name: string, value: string, path: string): void {
    this.cookies.set(`${name};${path}`, { name, value, path });
  }

  private store(url: URL, lines: string[]): void {
    for (const line of lines) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      const attr = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.split('=')[1];
      const path = attr('path') ?? url.pathname.replace(/\/[^/]*$/, '') ?? '/';
      const maxAge = attr('max-age');
      const expires = attr('expires');
      if ((maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now())) this.cookies.delete(`${name};${path}`);
      else this.cookies.set(`${name};${path}`, { name, value, path });
    }
  }

  private cookieHeader(url: URL): string {
    const matches = (path: string) => url.pathname === path || (url.pathname.startsWith(path) && (path.endsWith('/') || url.pathname[path.length] === '/'));
    return [...this.cookies.values()]
      .filter((c) => matches(c.path || '/'))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/** The Set-Cookie line for a name, parsed into its attributes (lower-cased keys). */
function setCookie(res: Response, name: string): Record<string, string> | undefined {
  const line = res.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
  return Object.fromEntries([['value', pair.slice(name.length + 1)], ...attributes.map((a) => [a.split('=')[0]!.toLowerCase(), a.split('=')[1] ?? 'true'])]);
}

describe('approver identity: landing page, personal links and OIDC sign-in', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-identity-'));
  const providerServer = createServer();
  let issuer: string;
  let cs: RunningCountersign;

  beforeAll(async () => {
    const port = await freePort();
    const csUrl = `http://127.0.0.1:${port}`;
    issuer = `http://127.0.0.1:${await listen(providerServer)}`;
    await serveProvider(providerServer, issuer, {
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${csUrl}/v1/auth/callback`,
      accounts: ACCOUNTS,
      cookieKey: 'a-cookie-signing-key-for-these-tests-only',
      ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
    });

    const configFile = join(dir, 'countersign.yaml');
    writeFileSync(
      configFile,
      stringify({
        version: 1,
        groups: {
          owners: {
            members: [
              { id: 'alice@example.com', email: 'alice@example.com' },
              { id: BOB, email: 'bob@example.com' },
              { id: 'carol@example.com', email: 'carol@example.com' },
            ],
          },
        },
        default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
        channels: { email: { from: 'countersign@example.com' } },
        auth: { oidc: { issuer, clientId: CLIENT_ID, clientSecret: 'env:OIDC_CLIENT_SECRET' } },
        local: { apiKeys: { [AGENT]: 'arn:aws:iam::000000000000:role/agent' } },
      }),
    );
    cs = await startCountersign({ dataDir: join(dir, 'data'), configFile, port, env: { OIDC_CLIENT_SECRET: CLIENT_SECRET } });
  });

  afterAll(async () => {
    await cs?.stop();
    await new Promise((resolve) => providerServer.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A pending request made for carol (so she may not approve it), once its approvers were notified. */
  async function pendingRequest(): Promise<string> {
    const { status, body } = await api(cs.url, 'POST', '/v1/actions', AGENT, {
      action: 'data.export',
      resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
      parameters: { table: 'customers' },
      justification: 'Quarterly churn analysis',
      onBehalfOf: 'carol@example.com',
    });
    expect(status).toBe(202);
    await eventually(async () => {
      const records = (await api(cs.url, 'GET', `/v1/actions/${body.id}/audit`, AGENT)).body as Array<{ type: string }>;
      return records.some((r) => r.type === 'notified') ? true : undefined;
    });
    return body.id as string;
  }

  const inboxFor = async (id: string) => ((await api(cs.url, 'GET', '/_local/inbox.json')).body as InboxMessage[]).filter((m) => m.actionId === id);

  /**
   * Starts sign-in for a request and goes through the provider's dev sign-in and consent forms as `login`, following
   * redirects as a browser would; answers the callback URL the provider sends the browser to.
   */
  async function throughProvider(browser: Browser, id: string, login: string, startPath = `/v1/auth/login?request=${id}`): Promise<string> {
    const start = await browser.fetch(`${cs.url}${startPath}`);
    expect(start.status).toBe(302);
    return signIn(browser, start.headers.get('location')!, login, `${cs.url}/v1/auth/callback`);
  }

  it('shows a landing page with only the action and expiry, and the two ways to identify', async () => {
    const id = await pendingRequest();
    const res = await fetch(`${cs.url}/v1/actions/${id}/review`);
    const html = await res.text();
    expect(res.status).toBe(200);
    for (const [name, value] of Object.entries(REVIEW_PAGE_HEADERS)) expect(res.headers.get(name)).toBe(value);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('<code data-testid="action">data.export</code>');
    const { expiresAt } = (await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body;
    expect(html).toContain(`datetime="${expiresAt}"`);
    expect(html).toContain(`href="/v1/auth/login?request=${id}"`);
    expect(html).toMatch(new RegExp(`<form method="post" action="/v1/actions/${id}/review-link"`));
    expect(html).toContain('name="email"');
    // The content stays for the approvers.
    for (const hidden of ['customers', 'Quarterly churn', 'carol@example.com', 'role/agent', 'alice@example.com']) expect(html).not.toContain(hidden);

    for (const unknown of ['act_doesnotexist', 'not-an-id']) {
      const missing = await fetch(`${cs.url}/v1/actions/${unknown}/review`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-security-policy')).toBe(REVIEW_PAGE_HEADERS['content-security-policy']);
      expect(await missing.text()).toContain('No such request');
    }
  });

  it('emails a personal link to the approver asked for, to nobody else, with the same answer for anyone', async () => {
    const id = await pendingRequest();
    const before = await inboxFor(id);
    const send = async (email: string) => {
      const res = await fetch(`${cs.url}/v1/actions/${id}/review-link`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email }).toString(),
      });
      return { status: res.status, body: await res.text() };
    };

    // Bob's member id is an ARN: his address on file names him.
    const forBob = await send('Bob@Example.com');
    expect(forBob.status).toBe(200);
    expect(forBob.body).toContain('If you are an approver of this request, a personal review link is on its way');
    const mail = await eventually(async () => {
      const now = await inboxFor(id);
      return now.length > before.length ? now.slice(before.length) : undefined;
    });
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({ channel: 'email', to: 'bob@example.com' });
    expect(mail[0]!.reviewUrl).toMatch(new RegExp(`^${cs.url}/v1/review/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    const review = await fetch(mail[0]!.reviewUrl!);
    expect(review.status).toBe(200);
    expect(await review.text()).toContain(`<bdi data-testid="approver">${BOB}</bdi>`);

    // A stranger, the person the request is for, and an address nobody has: the same page, and no mail.
    for (const other of ['mallory@example.com', 'carol@example.com', 'nobody@elsewhere.example']) expect(await send(other)).toEqual(forBob);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await inboxFor(id)).toHaveLength(before.length + 1);

    const bad = await send('not an email');
    expect(bad.status).toBe(400);
    expect(bad.body).not.toContain('on its way');
  });

  it('signs an approver in with OIDC and PKCE, lands on the review page, and Approve works', async () => {
    const id = await pendingRequest();
    const browser = new Browser();
    const start = await browser.fetch(`${cs.url}/v1/auth/login?request=${id}`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.origin).toBe(issuer);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: `${cs.url}/v1/auth/callback`,
      code_challenge_method: 'S256',
      scope: 'openid email',
    });
    for (const p of ['state', 'nonce', 'code_challenge']) expect(authorize.searchParams.get(p)).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The flow cookie: MAC'd, short-lived, out of scripts' reach, only for /v1/auth; plain http here, so not Secure.
    expect(setCookie(start, 'cs_oidc')).toMatchObject({ path: '/v1/auth', 'max-age': '600', httponly: 'true', samesite: 'Lax' });
    expect(setCookie(start, 'cs_oidc')).not.toHaveProperty('secure');
    // The verifier never leaves in the URL.
    expect(start.headers.get('location')).not.toContain('code_verifier');

    const callback = await throughProvider(browser, id, 'alice@example.com');
    const landed = await browser.fetch(callback);
    expect(landed.status).toBe(302);
    const reviewUrl = landed.headers.get('location')!;
    expect(reviewUrl).toMatch(new RegExp(`^${cs.url}/v1/review/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    expect(setCookie(landed, 'cs_session')).toMatchObject({ path: '/v1/review', 'max-age': String(8 * 3600), httponly: 'true', samesite: 'Lax' });
    expect(setCookie(landed, 'cs_oidc')).toMatchObject({ value: '', 'max-age': '0' });

    const page = await browser.fetch(reviewUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<bdi data-testid="approver">alice@example.com</bdi>');
    const decided = await browser.fetch(reviewUrl, { method: 'POST', form: { decision: 'approve', reason: 'signed in' } });
    expect(decided.status).toBe(200);
    expect(await decided.text()).toContain('Your decision (approve) is recorded');
    const { body } = await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT);
    expect(body).toMatchObject({ status: 'approved', votes: [{ approver: 'alice@example.com', decision: 'approve', reason: 'signed in' }] });

    // The request is closed now: signing in again leads nowhere to decide.
    const again = await browser.fetch(`${cs.url}/v1/auth/login?request=${id}`);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('This request is approved');
  });

  it('refuses a signed-in non-approver, the person the request is for, and an unverified email, with 403', async () => {
    const id = await pendingRequest();
    const cases: Array<[string, string]> = [
      ['mallory@example.com', 'You are not an approver of this request'],
      ['carol@example.com', 'You are not an approver of this request'],
      ['bob', 'Your email address is not verified'],
    ];
    for (const [login, title] of cases) {
      const browser = new Browser();
      const res = await browser.fetch(await throughProvider(browser, id, login));
      const html = await res.text();
      expect(res.status, login).toBe(403);
      expect(html).toContain(title);
      expect(html).not.toMatch(/<script|\n\s+at /);
      expect(res.headers.get('location')).toBeNull();
      expect(setCookie(res, 'cs_session')).toBeUndefined();
    }
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body).toMatchObject({ status: 'pending', votes: [] });
  });

  it('refuses a tampered state, a tampered, missing or foreign flow cookie, and a replayed callback', async () => {
    const id = await pendingRequest();
    const refused = async (res: Response) => {
      const html = await res.text();
      expect(res.status, html).toBe(400);
      expect(html).toContain('cannot be completed');
      expect(res.headers.get('location')).toBeNull();
      expect(setCookie(res, 'cs_session')).toBeUndefined();
    };

    // The state in the answer is not the one this browser's flow started with.
    const tampered = new Browser();
    const url = new URL(await throughProvider(tampered, id, 'alice@example.com'));
    url.searchParams.set('state', 'attacker-chosen-state-value-1234567890');
    await refused(await tampered.fetch(url.href));

    // The flow cookie altered: another request id under the original MAC.
    const altered = new Browser();
    const callback = await throughProvider(altered, id, 'alice@example.com');
    const [payload, mac] = altered.value('cs_oidc')!.split('.') as [string, string];
    const flow = JSON.parse(Buffer.from(payload, 'base64url').toString());
    altered.set('cs_oidc', `${Buffer.from(JSON.stringify({ ...flow, requestId: 'act_other' })).toString('base64url')}.${mac}`, '/v1/auth');
    await refused(await altered.fetch(callback));

    // No cookie at all (the answer arrives in another browser).
    const elsewhere = new Browser();
    await refused(await elsewhere.fetch(await throughProvider(new Browser(), id, 'alice@example.com')));

    // Another flow's genuine cookie (login CSRF: the attacker's code in the victim's browser).
    const victim = new Browser();
    await victim.fetch(`${cs.url}/v1/auth/login?request=${id}`);
    await refused(await victim.fetch(await throughProvider(new Browser(), id, 'mallory@example.com')));

    // A completed callback replayed with its cookie: the code is spent.
    const first = new Browser();
    const done = await throughProvider(first, id, 'alice@example.com');
    const cookie = first.value('cs_oidc')!;
    expect((await first.fetch(done)).status).toBe(302);
    const replay = new Browser();
    replay.set('cs_oidc', cookie, '/v1/auth');
    await refused(await replay.fetch(done));

    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body).toMatchObject({ status: 'pending', votes: [] });
  });

  it('refuses a plain-http issuer unless Countersign itself runs on loopback http', async () => {
    process.env.OIDC_CLIENT_SECRET = CLIENT_SECRET;
    const deps = fakeDeps({ publicUrl: 'https://countersign.example.com', oidcIssuer: issuer });
    const res = await startSignIn(eventWith({ queryStringParameters: { request: 'act_stepup' } }), deps);
    expect(res.statusCode).toBe(503);
    expect(res.headers?.location).toBeUndefined();
    expect(res.cookies).toBeUndefined();
    expect(res.body).toContain('Sign-in is not available right now');
  });

  it('signs a person in to the console with OIDC: a console session of its own, and sign-out ends it', async () => {
    // Local mode's sign-in page offers the provider beside the API-key form.
    const page = await (await fetch(`${cs.url}/console/sign-in`)).text();
    expect(page).toContain('href="/v1/auth/login?to=console"');

    const browser = new Browser();
    const callback = await throughProvider(browser, '', 'alice@example.com', '/v1/auth/login?to=console');
    const landed = await browser.fetch(callback);
    expect([landed.status, landed.headers.get('location')]).toEqual([302, `${cs.url}/console`]);
    expect(setCookie(landed, 'cs_console')).toMatchObject({ path: '/console', 'max-age': '28800', httponly: 'true', samesite: 'Lax' });
    // The review step-up session is not set: the console's is its own.
    expect(setCookie(landed, 'cs_session')).toBeUndefined();
    const inbox = await browser.fetch(`${cs.url}/console`);
    const html = await inbox.text();
    expect(inbox.status, html).toBe(200);
    expect(html).toContain('<bdi data-testid="viewer">alice@example.com</bdi>');

    // An altered session opens nothing (test/unit/session.test.ts keeps the purposes apart).
    const consoleSession = browser.value('cs_console')!;
    const altered = new Browser();
    altered.set('cs_console', `${consoleSession.slice(0, -2)}AA`, '/console');
    const refused = await altered.fetch(`${cs.url}/console`);
    expect([refused.status, refused.headers.get('location')]).toEqual([303, '/console/sign-in']);

    // Sign-out needs the page's CSRF token; with it, the session ends.
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const forged = await browser.fetch(`${cs.url}/console/sign-out`, { method: 'POST', form: { csrf: 'forged' } });
    expect(forged.status).toBe(403);
    expect((await browser.fetch(`${cs.url}/console`)).status).toBe(200);
    const out = await browser.fetch(`${cs.url}/console/sign-out`, { method: 'POST', form: { csrf } });
    expect([out.status, out.headers.get('location')]).toEqual([303, '/console/sign-in']);
    expect(setCookie(out, 'cs_console')).toMatchObject({ 'max-age': '0' });
    expect((await browser.fetch(`${cs.url}/console`)).status).toBe(303);
    // Ended on the server too: a copy of the cookie taken before sign-out opens nothing.
    const copy = new Browser();
    copy.set('cs_console', consoleSession, '/console');
    expect((await copy.fetch(`${cs.url}/console`)).status).toBe(303);
  });

  it('gives no console session to a person whose address the provider has not verified', async () => {
    const browser = new Browser();
    const landed = await browser.fetch(await throughProvider(browser, '', 'bob', '/v1/auth/login?to=console'));
    expect(landed.status).toBe(403);
    expect(setCookie(landed, 'cs_console')).toBeUndefined();
    expect((await browser.fetch(`${cs.url}/console`)).status).toBe(303);
  });

  it('answers sign-in for an unknown request with 404', async () => {
    for (const query of ['request=act_doesnotexist', 'request=..%2F..', '']) {
      const res = await fetch(`${cs.url}/v1/auth/login?${query}`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
  });
});

function hmacPort(key = randomBytes(32)): MacPort {
  const mac = (m: Buffer) => createHmac('sha256', key).update(m).digest();
  return { generate: async (m) => mac(m), verify: async (m, tag) => tag.length === 32 && timingSafeEqual(mac(m), tag) };
}

function eventWith(parts: Partial<HttpEvent>): HttpEvent {
  return { headers: {}, rawQueryString: '', ...parts } as HttpEvent;
}

const NOW = new Date('2026-01-01T00:00:00Z');
const STEP_UP_STATE: ApprovalState = {
  id: 'act_stepup',
  requester: 'arn:aws:iam::000000000000:role/agent',
  request: { action: 'iam.grant' },
  body: { kind: 'commitment', value: 'x' },
  createdAt: NOW.toISOString(),
  policy: { rule: 'grants', effect: 'require_approval', requiredApprovals: 1, approvers: ['alice@example.com', BOB], expiresAt: '2026-01-01T01:00:00.000Z' },
  votes: [],
  notified: true,
};

function fakeDeps(options: { publicUrl?: string; oidcIssuer?: string; requireSignIn?: boolean; mac?: MacPort } = {}): ApproverPorts {
  const config = parseConfig(
    stringify({
      version: 1,
      groups: { owners: { members: [{ id: 'alice@example.com' }, { id: BOB, email: 'bob@example.com' }] } },
      rules: [
        {
          name: 'grants',
          match: { action: 'iam.*' },
          effect: 'require_approval',
          approvers: ['owners'],
          ...(options.requireSignIn === false ? {} : { requireSignIn: true }),
        },
      ],
      channels: { email: { from: 'countersign@example.com' } },
      auth: { oidc: { issuer: options.oidcIssuer ?? 'https://login.example.com', clientId: CLIENT_ID, clientSecret: 'env:OIDC_CLIENT_SECRET' } },
    }),
  );
  const mac = options.mac ?? hmacPort();
  return {
    ...memoryPorts(config, { publicUrl: options.publicUrl ?? 'https://countersign.example.com' }),
    mac,
    clock: { now: () => NOW, sleep: async () => {} },
    outbox: {
      deliver: async () => {
        throw new Error('not in these tests');
      },
    },
  };
}

describe('step-up sign-in for personal links (requireSignIn)', () => {
  const mac = hmacPort();
  const deps = fakeDeps({ mac });
  const exp = Math.floor(NOW.getTime() / 1000) + 3600;
  const session = async (email: string, purpose: 'session' | 'oidc-flow' = 'session', at = exp) => `cs_session=${await seal(mac, purpose, { email, exp: at })}`;
  const grant = { requestId: STEP_UP_STATE.id, approver: 'alice@example.com' };

  it('reads the signed-in email only from a genuine, unexpired session cookie', async () => {
    expect(await signedInAs(eventWith({ cookies: ['other=1', await session('alice@example.com')] }), deps)).toBe('alice@example.com');
    expect(await signedInAs(eventWith({ headers: { cookie: `a=b; ${await session('alice@example.com')}` } }), deps)).toBe('alice@example.com');
    expect(await signedInAs(eventWith({}), deps)).toBeUndefined();
    const genuine = await session('alice@example.com');
    const [payload, tag] = genuine.slice('cs_session='.length).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ email: 'mallory@example.com', exp })).toString('base64url');
    expect(await signedInAs(eventWith({ cookies: [`cs_session=${forged}.${tag}`] }), deps)).toBeUndefined();
    expect(await signedInAs(eventWith({ cookies: [`cs_session=${payload}.${tag}`] }), fakeDeps())).toBeUndefined(); // another key
    expect(await signedInAs(eventWith({ cookies: [await session('alice@example.com', 'session', Math.floor(NOW.getTime() / 1000))] }), deps)).toBeUndefined(); // expired
    expect(await signedInAs(eventWith({ cookies: [await session('alice@example.com', 'oidc-flow')] }), deps)).toBeUndefined(); // sealed for another purpose
  });

  it("sends an unsigned visitor to sign in, lets the link's own approver through, and refuses anyone else", async () => {
    expect(signInRedirect('act_stepup')).toMatchObject({ statusCode: 302, headers: { location: '/v1/auth/login?request=act_stepup' } });
    expect(await checkStepUp(eventWith({}), deps, grant)).toMatchObject({ statusCode: 302, headers: { location: '/v1/auth/login?request=act_stepup' } });
    expect(await checkStepUp(eventWith({ cookies: [await session('Alice@Example.com')] }), deps, grant)).toBeUndefined();
    // Bob's identity is an ARN; his verified email names him.
    expect(await checkStepUp(eventWith({ cookies: [await session('bob@example.com')] }), deps, { ...grant, approver: BOB })).toBeUndefined();
    const other = await checkStepUp(eventWith({ cookies: [await session('bob@example.com')] }), deps, grant);
    expect(other?.statusCode).toBe(403);
    expect(other?.body).toContain('This link belongs to another approver');
  });

  it('changes nothing for rules that do not require sign-in', async () => {
    expect(await checkStepUp(eventWith({}), fakeDeps({ requireSignIn: false }), grant)).toBeUndefined();
  });
});
