/**
 * Establishing who an approver is when a link does not say (a Teams channel card): the request's landing page, the
 * "email me my personal review link" form, and OIDC sign-in (authorization code with PKCE, state and nonce, through
 * openid-client). Each ends in a personal review link, the one credential the review page takes; sign-in also
 * leaves a session cookie that step-up rules (`requireSignIn`) check on personal links.
 *
 * Every answer is a page in the review page's style and headers (no script); bad input gets a 4xx page, never a
 * stack trace or a 5xx.
 */

import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { cookiesOf, type HttpEvent, type HttpResult, MAX_FORM_BYTES } from '../adapters/http';
import { correlate, errorName, logger } from '../adapters/logger';
import { resolveSecret } from '../adapters/secrets';
import { personalLinkEmail } from '../app/notifications';
import { type ApproverPorts, requestState } from '../app/vote';
import { type ApprovalState, statusOf } from '../core/approval';
import type { Config } from '../core/config';
import { formatUtc } from '../core/dates';
import { escapeHtml } from '../core/html';
import { identityDirectory } from '../core/identity';
import { REQUEST_ID_PATTERN } from '../core/request';
import { issueReviewToken } from '../core/review-token';
import {
  approverAddress,
  approverForEmail,
  CONSOLE_COOKIE,
  cookieValue,
  FLOW_COOKIE,
  FLOW_TTL_SECONDS,
  flowSchema,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  seal,
  sessionSchema,
  signInRequired,
  unseal,
} from '../core/session';
import * as z from '../core/zod';
import { REVIEW_PAGE_HEADERS, renderMessagePage } from './review-page';

type OidcSettings = NonNullable<Config['auth']['oidc']>;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const emailSchema = z.email().check(z.maxLength(320));

// ---------------------------------------------------------------------------------------------------------------
// Routes

/** GET /v1/actions/{id}/review: what a channel card opens. Shows only the action and its expiry to anyone. */
export async function showRequestLanding(event: HttpEvent, deps: ApproverPorts): Promise<HttpResult> {
  const state = await requestOf(event.pathParameters?.id, deps);
  if (!state) return notFound();
  if (statusOf(state) !== 'pending') return closed(state);
  const config = deps.policy.config();
  const id = encodeURIComponent(state.id);
  const signIn = config.auth.oidc
    ? `<p><a href="/v1/auth/login?request=${id}" data-testid="sign-in" style="${BUTTON_STYLE}">Sign in</a>
  <span class="hint">with your organization's account; you come back to the request's review page.</span></p>`
    : '';
  const emailForm = config.channels.email
    ? `<form method="post" action="/v1/actions/${id}/review-link" autocomplete="on" data-testid="link-form"${signIn ? ' style="margin-top:1.2rem"' : ''}>
    <label for="email">${signIn ? 'Or have' : 'Have'} your personal review link emailed to you</label>
    <input id="email" name="email" type="email" required maxlength="320" autocomplete="email" data-testid="email" style="${INPUT_STYLE}">
    <p class="hint">The link goes only to the address Countersign has on file for an approver of this request, never to the address typed here.</p>
    <div class="buttons"><button type="submit" data-testid="send-link" style="${SECONDARY_BUTTON_STYLE}">Email me my personal review link</button></div>
  </form>`
    : '';
  const ways =
    signIn || emailForm
      ? `${signIn}${emailForm}`
      : '<p data-testid="no-way">This deployment has neither sign-in nor email configured, so approvers cannot be identified here. Use the personal link from your email or the decision API.</p>';
  return htmlPage(
    200,
    'Approval request',
    'Decisions are personal: each is recorded under the approver’s name, and the card in the channel cannot tell who opened it. Countersign first needs to know who you are.',
    'info',
    `${requestSection(state)}
<section aria-labelledby="h-who" class="decision">
  <h2 id="h-who">Who are you?</h2>
  ${ways}
</section>`,
  );
}

/**
 * POST /v1/actions/{id}/review-link (form `email`): emails a personal review link to the matching approver's address
 * on file, and to nobody else. The answer is the same whether or not the address matched, so the form cannot be used
 * to find out who the approvers are. (Rate limiting is not done here.)
 */
export async function sendPersonalLink(event: HttpEvent, deps: ApproverPorts): Promise<HttpResult> {
  const state = await requestOf(event.pathParameters?.id, deps);
  if (!state?.policy) return notFound();
  if (statusOf(state) !== 'pending') return closed(state);
  const form = formOf(event);
  if (!form) return htmlPage(415, 'Send the form from the request’s page', 'Nothing was sent.', 'error', backLink(state.id));
  const email = emailSchema.safeParse(form.get('email')?.trim());
  if (!email.success) return htmlPage(400, 'Enter your email address', 'That is not an email address. Nothing was sent.', 'error', backLink(state.id));

  const config = deps.policy.config();
  const approver = approverForEmail(config, state, email.data);
  const address = approver && approverAddress(config, approver);
  if (approver && address && state.policy.expiresAt) {
    try {
      await deps.outbox.deliver(await personalLinkEmail(deps, state, approver, address));
    } catch (err) {
      // The answer must not differ for approvers; the failure is logged without the address (personal data).
      logger.error('personal review link not sent', { error: errorName(err) });
    }
  }
  return htmlPage(
    200,
    'Check your email',
    'If you are an approver of this request, a personal review link is on its way to the address Countersign has for you. It may take a minute to arrive.',
    'info',
    '',
  );
}

/** GET /v1/auth/login?request=<id>: starts OIDC sign-in for a request, keeping the flow in a MAC'd cookie. */
export async function startSignIn(event: HttpEvent, deps: ApproverPorts): Promise<HttpResult> {
  const settings = deps.policy.config().auth.oidc;
  if (!settings) return htmlPage(404, 'Sign-in is not configured', 'Ask for your personal review link by email on the request’s page instead.', 'error');
  // `?to=console`: signing in to the console, for no request in particular.
  const toConsole = event.queryStringParameters?.to === 'console';
  const state = toConsole ? undefined : await requestOf(event.queryStringParameters?.request, deps);
  if (!toConsole) {
    if (!state) return notFound();
    correlate(state.id);
    if (statusOf(state) !== 'pending') return closed(state);
  }
  const configuration = await oidcConfiguration(settings, deps);
  if (!configuration) return unavailable();

  const codeVerifier = oidc.randomPKCECodeVerifier();
  const flow = {
    ...(state ? { requestId: state.id } : { to: 'console' as const }),
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    codeVerifier,
    exp: Math.floor(deps.clock.now().getTime() / 1000) + FLOW_TTL_SECONDS,
  };
  const url = oidc.buildAuthorizationUrl(configuration, {
    redirect_uri: callbackUrl(deps),
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state: flow.state,
    nonce: flow.nonce,
  });
  const cookie = `${FLOW_COOKIE}=${await seal(deps.mac, 'oidc-flow', flow)}${cookieAttributes(deps, '/v1/auth', FLOW_TTL_SECONDS)}`;
  return redirect(url.href, [cookie]);
}

/**
 * GET /v1/auth/callback: completes sign-in (state, PKCE, nonce and the ID token are checked by openid-client), then
 * sends an approver of the request to a fresh personal review link, with a session cookie for step-up checks.
 */
export async function finishSignIn(event: HttpEvent, deps: ApproverPorts): Promise<HttpResult> {
  // The flow cookie is single-use: every answer clears it.
  const clear = [`${FLOW_COOKIE}=${cookieAttributes(deps, '/v1/auth', 0)}`];
  const config = deps.policy.config();
  const settings = config.auth.oidc;
  if (!settings) return htmlPage(404, 'Sign-in is not configured', 'Nothing was changed.', 'error', '', clear);
  const flow = await unseal(deps.mac, 'oidc-flow', flowSchema, cookieValue(cookiesOf(event), FLOW_COOKIE), deps.clock.now());
  if (!flow) {
    return htmlPage(
      400,
      'This sign-in cannot be completed',
      'It was started in another browser, took longer than 10 minutes, or was altered. Open the request’s page from the card and sign in again. Nothing was changed.',
      'error',
      '',
      clear,
    );
  }
  // The flow's MAC held: the request it was started for is this invocation's.
  correlate(flow.requestId);
  const query = new URLSearchParams(event.rawQueryString ?? '');
  const providerError = query.get('error');
  if (providerError !== null) {
    const code = /^[a-z_]{1,64}$/.test(providerError) ? ` (${providerError})` : '';
    return htmlPage(
      400,
      'Sign-in was not completed',
      `The identity provider did not sign you in${code}. Nothing was changed.`,
      'error',
      backLink(flow.requestId),
      clear,
    );
  }
  const configuration = await oidcConfiguration(settings, deps);
  if (!configuration) return unavailable(clear);

  let claims: { email?: unknown; email_verified?: unknown } | undefined;
  try {
    const currentUrl = new URL(callbackUrl(deps));
    currentUrl.search = query.toString();
    const tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: flow.codeVerifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims();
    claims = idToken ? { email: idToken.email, email_verified: idToken.email_verified } : undefined;
    if (idToken && typeof idToken.email !== 'string') {
      // In the code flow a provider may release scope claims only at its UserInfo endpoint (OIDC Core 5.4);
      // openid-client checks that its `sub` is the ID token's.
      const info = await oidc.fetchUserInfo(configuration, tokens.access_token, idToken.sub);
      claims = { email: info.email, email_verified: info.email_verified };
    }
  } catch (err) {
    logger.error('sign-in failed', { error: errorName(err) });
    if (isNetworkError(err)) return unavailable(clear);
    return htmlPage(
      400,
      'This sign-in cannot be completed',
      'The answer from the identity provider did not check out. Sign in again from the request’s page. Nothing was changed.',
      'error',
      backLink(flow.requestId),
      clear,
    );
  }

  const email = typeof claims?.email === 'string' ? claims.email : undefined;
  if (!email || !emailSchema.safeParse(email).success) {
    return htmlPage(
      403,
      'Your email address is unknown',
      'The identity provider did not tell Countersign your email address, which is how approvers are named. Ask your administrator to release the email claim. Nothing was changed.',
      'error',
      '',
      clear,
    );
  }
  // Some providers (Cognito) send the flag as a string.
  if (claims?.email_verified !== undefined && claims.email_verified !== true && claims.email_verified !== 'true') {
    return htmlPage(
      403,
      'Your email address is not verified',
      'The identity provider has not verified your email address, so Countersign cannot take it as your identity. Nothing was changed.',
      'error',
      '',
      clear,
    );
  }
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  if (flow.to === 'console' || flow.requestId === undefined) {
    // The console decides, page by page, what this person may see and do.
    const sid = randomBytes(18).toString('base64url');
    logger.info('signed in', { to: 'console' });
    const session = `${CONSOLE_COOKIE}=${await seal(deps.mac, 'console-session', { email, sid, exp: now + SESSION_TTL_SECONDS })}${cookieAttributes(deps, '/console', SESSION_TTL_SECONDS)}`;
    return redirect(`${deps.publicUrl}/console`, [...clear, session]);
  }
  const state = await requestState(deps, flow.requestId);
  if (!state) return notFound(clear);
  const approver = approverForEmail(config, state, email);
  if (!approver) {
    return htmlPage(
      403,
      'You are not an approver of this request',
      `You are signed in as ${email}, who may not decide this request: only its approvers may, and never the person who asked or the person it is for. Nothing was changed.`,
      'error',
      '',
      clear,
    );
  }
  logger.info('signed in', { to: 'review' });
  const session = `${SESSION_COOKIE}=${await seal(deps.mac, 'session', { email, exp: now + SESSION_TTL_SECONDS })}${cookieAttributes(deps, '/v1/review', SESSION_TTL_SECONDS)}`;
  if (statusOf(state) !== 'pending' || !state.policy?.expiresAt) return closed(state, [...clear, session]);
  const token = await issueReviewToken(deps.mac, { requestId: state.id, approver, expiresAt: new Date(state.policy.expiresAt) });
  return redirect(`${deps.publicUrl}/v1/review/${token}`, [...clear, session]);
}

// ---------------------------------------------------------------------------------------------------------------
// Step-up (requireSignIn) for the review page: the lead calls these from showReview / decideReview.

/** The verified email of the signed-in person (`cs_session`), or undefined when nobody is signed in. */
export async function signedInAs(event: HttpEvent, deps: ApproverPorts): Promise<string | undefined> {
  const session = await unseal(deps.mac, 'session', sessionSchema, cookieValue(cookiesOf(event), SESSION_COOKIE), deps.clock.now());
  return session?.email;
}

/** Whether the signed-in person (`cs_session`) is the review link's approver of the request. */
export async function signedInAsApprover(
  event: HttpEvent,
  deps: ApproverPorts,
  grant: { readonly requestId: string; readonly approver: string },
): Promise<boolean> {
  const email = await signedInAs(event, deps);
  const state = email === undefined ? undefined : await requestState(deps, grant.requestId);
  if (!email || !state) return false;
  const approver = approverForEmail(deps.policy.config(), state, email);
  return approver !== undefined && identityDirectory(deps.policy.config()).samePerson(approver, grant.approver);
}

/** Sends the browser to sign in for a request; it comes back to a fresh personal review link. */
export function signInRedirect(requestId: string): HttpResult {
  return redirect(`/v1/auth/login?request=${encodeURIComponent(requestId)}`);
}

/**
 * For a personal review link: undefined when it may be used as is (its rule does not require sign-in, or the
 * signed-in person is the link's approver); otherwise the answer to give instead (a redirect to sign in, or a 403
 * page when someone else is signed in).
 */
export async function checkStepUp(
  event: HttpEvent,
  deps: ApproverPorts,
  grant: { readonly requestId: string; readonly approver: string },
): Promise<HttpResult | undefined> {
  const config = deps.policy.config();
  const state = await requestState(deps, grant.requestId);
  if (!state || !signInRequired(config, state)) return undefined;
  const email = await signedInAs(event, deps);
  if (!email) return signInRedirect(grant.requestId);
  const approver = approverForEmail(config, state, email);
  if (approver !== undefined && identityDirectory(config).samePerson(approver, grant.approver)) return undefined;
  return htmlPage(
    403,
    'This link belongs to another approver',
    `You are signed in as ${email}, but this review link was sent to another approver. Nothing was changed.`,
    'error',
    backLink(grant.requestId),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// OIDC client

/**
 * Longest wait for each call to the identity provider, in seconds (openid-client uses the discovery's timeout for
 * every later call of the configuration). A sign-in makes at most OIDC_CALLS_PER_SIGN_IN of them in one request
 * (discovery on a cold start, the code grant, UserInfo), which the decision function's timeout leaves room for.
 */
export const OIDC_REQUEST_TIMEOUT_SECONDS = 5;
export const OIDC_CALLS_PER_SIGN_IN = 3;

const configurations = new Map<string, Promise<oidc.Configuration>>();

function isLoopbackHttp(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname);
  } catch {
    return false;
  }
}

/** The provider's discovered configuration, fetched once per cold start (a failure is retried by the next call). */
async function oidcConfiguration(settings: OidcSettings, deps: ApproverPorts): Promise<oidc.Configuration | undefined> {
  const key = `${settings.issuer}\n${settings.clientId}\n${settings.clientSecret}`;
  let configuration = configurations.get(key);
  if (!configuration) {
    configuration = discover(settings, deps);
    configuration.catch(() => configurations.delete(key));
    configurations.set(key, configuration);
  }
  try {
    return await configuration;
  } catch (err) {
    logger.error('OIDC discovery failed', { error: errorName(err) });
    return undefined;
  }
}

async function discover(settings: OidcSettings, deps: ApproverPorts): Promise<oidc.Configuration> {
  // Plain http only between loopback addresses: a local provider in local mode or in tests, never on AWS.
  const insecure = isLoopbackHttp(settings.issuer) && isLoopbackHttp(deps.publicUrl);
  const secret = await resolveSecret(settings.clientSecret);
  return oidc.discovery(new URL(settings.issuer), settings.clientId, undefined, oidc.ClientSecretBasic(secret), {
    timeout: OIDC_REQUEST_TIMEOUT_SECONDS,
    ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
}

const callbackUrl = (deps: ApproverPorts) => `${deps.publicUrl}/v1/auth/callback`;

function isNetworkError(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError' || (err instanceof TypeError && err.message === 'fetch failed');
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP and HTML helpers

async function requestOf(id: string | undefined, deps: ApproverPorts): Promise<ApprovalState | undefined> {
  if (!id || !REQUEST_ID_PATTERN.test(id)) return undefined;
  const state = await requestState(deps, id);
  // Only requests that ask approvers have anything to review.
  return state?.policy?.effect === 'require_approval' ? state : undefined;
}

/** The urlencoded form body, or undefined for any other content type. */
function formOf(event: HttpEvent): URLSearchParams | undefined {
  const contentType = String(event.headers?.['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  return new URLSearchParams(Buffer.byteLength(text) <= MAX_FORM_BYTES ? text : '');
}

/** HttpOnly, SameSite=Lax (the provider's redirect back is a top-level GET), Secure except on a loopback http URL. */
function cookieAttributes(deps: ApproverPorts, path: string, maxAge: number): string {
  return `; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${isLoopbackHttp(deps.publicUrl) ? '' : '; Secure'}`;
}

function redirect(location: string, cookies: string[] = []): HttpResult {
  return {
    statusCode: 302,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' },
    ...(cookies.length ? { cookies } : {}),
  };
}

/** A message page in the review page's style, with optional extra HTML (already escaped) below the message. */
function htmlPage(status: number, title: string, message: string, kind: 'error' | 'info', extraHtml = '', cookies: string[] = []): HttpResult {
  const body = renderMessagePage(title, message, kind).replace('</main>', `${extraHtml}\n</main>`);
  return { statusCode: status, headers: { ...REVIEW_PAGE_HEADERS }, body, ...(cookies.length ? { cookies } : {}) };
}

function notFound(cookies: string[] = []): HttpResult {
  return htmlPage(404, 'No such request', 'Check that the whole link was copied. Nothing was changed.', 'error', '', cookies);
}

function unavailable(cookies: string[] = []): HttpResult {
  return htmlPage(
    503,
    'Sign-in is not available right now',
    'The identity provider could not be reached. Try again in a minute, or ask for your personal review link by email. Nothing was changed.',
    'error',
    '',
    cookies,
  );
}

function closed(state: ApprovalState, cookies: string[] = []): HttpResult {
  return htmlPage(200, `This request is ${statusOf(state)}`, 'Nothing is left to decide.', 'info', requestSection(state), cookies);
}

function backLink(requestId: string | undefined): string {
  if (requestId === undefined) return '<p><a href="/console/sign-in" data-testid="back">Back to the console’s sign-in</a></p>';
  return `<p><a href="/v1/actions/${encodeURIComponent(requestId)}/review" data-testid="back">Back to the request’s page</a></p>`;
}

/** What an anonymous visitor may see: the action and when the request expires (the channel saw the card already). */
function requestSection(state: ApprovalState): string {
  const expiresAt = state.policy?.expiresAt;
  const expires = expiresAt
    ? `<time datetime="${escapeHtml(expiresAt)}" title="${escapeHtml(`${expiresAt.slice(0, 10)} ${expiresAt.slice(11, 19)} UTC`)}" data-testid="expires">${escapeHtml(formatUtc(expiresAt) ?? expiresAt)}</time>`
    : '<span class="none" data-testid="expires">no expiry</span>';
  return `<section aria-labelledby="h-request">
  <h2 id="h-request">The request</h2>
  <dl>
    <div class="row"><dt>Action</dt><dd><code data-testid="action">${escapeHtml(state.request.action)}</code></dd></div>
    <div class="row"><dt>Expires</dt><dd>${expires}</dd></div>
  </dl>
</section>`;
}

const BUTTON_STYLE =
  'display:inline-block;padding:.7rem 1.4rem;border-radius:8px;background:#2f6feb;color:#fff;font-weight:600;text-decoration:none;margin-right:.5rem';
const SECONDARY_BUTTON_STYLE = 'background:#fff;border-color:#2f6feb;color:#1d3f7a';
const INPUT_STYLE = 'display:block;width:100%;font:inherit;padding:.5rem .6rem;border:1px solid #b9c0cc;border-radius:6px';
