/**
 * Who is looking at the console, and the defences its forms share.
 *
 * A console route has no API Gateway authorizer (browsers do not sign requests with SigV4), so the viewer is the
 * person the console session cookie (`cs_console`, set by OIDC sign-in, docs/api.md "The console") names. A request
 * that does carry API Gateway's IAM context is taken as that caller: on AWS no console route has an authorizer, so
 * none does; local mode's gateway gives it to a browser signed in with a local API key, as it does for the API.
 *
 * Forms post back with a CSRF token (a MAC of the viewer under its own purpose, so it opens nothing else) and are
 * refused from another site (`Sec-Fetch-Site`); the cookie is SameSite=Lax, HttpOnly and Path=/console.
 */
import { timingSafeEqual } from 'node:crypto';
import { caller, cookiesOf, formFields, type HttpEvent, type HttpResult } from '../adapters/http';
import { CountersignError } from '../core/errors';
import type { ConsoleSessions, Ports } from '../core/ports';
import { CONSOLE_COOKIE, consoleSessionSchema, cookieValue, unseal } from '../core/session';

export interface Viewer {
  /** The person, as policy names them: an email address (OIDC), or the caller's canonical principal. */
  readonly principal: string;
  /** How the console knows them. */
  readonly via: 'oidc' | 'credentials';
  /** May search the ledger, verify it and export it. */
  readonly auditor: boolean;
  /** Whether any policy group names them (they may read the policy). */
  readonly approver: boolean;
  /** The token every form of theirs posts back. */
  readonly csrf: string;
  /** The OIDC console session: its id, and when it expires (epoch seconds); sign-out ends it. */
  readonly session?: { readonly sid: string; readonly exp: number };
}

export type ConsolePorts = Pick<Ports, 'ledger' | 'policy' | 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock' | 'publicUrl' | 'metrics'>;

/**
 * The viewer, or undefined when nobody is signed in: no session, one altered or expired, or one ended by sign-out
 * (`sessions`, read only for a cookie whose MAC holds).
 */
export async function viewerOf(event: HttpEvent, ports: ConsolePorts, sessions: ConsoleSessions): Promise<Viewer | undefined> {
  const config = ports.policy.config();
  let principal: string | undefined;
  let via: Viewer['via'] = 'oidc';
  let session: Viewer['session'];
  if (event.requestContext.authorizer?.iam?.userArn) {
    // Throws `unauthorized` for an identity that cannot be used (a hidden character, an unknown ARN shape).
    principal = caller(event, config);
    via = 'credentials';
  } else {
    const sealed = await unseal(ports.mac, 'console-session', consoleSessionSchema, cookieValue(cookiesOf(event), CONSOLE_COOKIE), ports.clock.now());
    if (sealed && !(await sessions.ended(sealed.sid))) {
      principal = sealed.email;
      session = { sid: sealed.sid, exp: sealed.exp };
    }
  }
  if (!principal) return undefined;
  const directory = ports.policy.directory();
  const person = directory.personOf(principal) ?? principal;
  const approver = config.groups
    ? Object.values(config.groups).some((group) =>
        directory.isOneOf(
          person,
          group.members.map((m) => m.id),
        ),
      )
    : false;
  return {
    principal: person,
    via,
    auditor: directory.isAuditor(person),
    approver,
    csrf: await csrfToken(ports, person, session?.sid),
    ...(session ? { session } : {}),
  };
}

/** At most this many CSRF tokens are remembered per MAC key (a warm function's recent viewers). */
const CSRF_CACHE_SIZE = 256;
const csrfCache = new WeakMap<Ports['mac'], Map<string, string>>();

/**
 * A MAC of the viewer and their session (when they have one): a token of one session is no good in another. The MAC
 * is deterministic, so a warm function remembers the token rather than asking KMS for it again on every page.
 */
async function csrfToken(ports: Pick<Ports, 'mac'>, principal: string, sid = ''): Promise<string> {
  const message = `countersign.console-csrf.v2.${sid}.${principal}`;
  const tokens = csrfCache.get(ports.mac) ?? new Map<string, string>();
  csrfCache.set(ports.mac, tokens);
  const known = tokens.get(message);
  if (known !== undefined) return known;
  const token = (await ports.mac.generate(Buffer.from(message, 'utf8'))).toString('base64url');
  if (tokens.size >= CSRF_CACHE_SIZE) tokens.delete(tokens.keys().next().value!);
  tokens.set(message, token);
  return token;
}

/** Refuses a form that did not come from the viewer's own console page: another site, or no or a wrong token. */
export function checkForm(event: HttpEvent, viewer: Viewer, form: URLSearchParams): void {
  const site = String(event.headers?.['sec-fetch-site'] ?? '');
  if (site && site !== 'same-origin' && site !== 'none') throw new CountersignError('forbidden', 'the form was sent from another site');
  const sent = Buffer.from(form.get('csrf') ?? '', 'utf8');
  const expected = Buffer.from(viewer.csrf, 'utf8');
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
    throw new CountersignError('forbidden', 'the form is stale or was not sent from the console: reload the page and try again');
  }
}

/**
 * The urlencoded form body: `unsupported_media_type` for any other content type, `payload_too_large` past 16 KiB,
 * and `invalid_request` for a field sent twice (which copy counts would otherwise be a guess).
 */
export function formOf(event: HttpEvent): URLSearchParams {
  const contentType = String(event.headers?.['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded')
    throw new CountersignError('unsupported_media_type', 'send the form as application/x-www-form-urlencoded');
  return formFields(event);
}

/** Cookie attributes: HttpOnly, SameSite=Lax (sign-in returns by a top-level redirect), Secure unless on loopback http. */
export function consoleCookie(ports: Pick<Ports, 'publicUrl'>, value: string, maxAge: number): string {
  let secure = '; Secure';
  try {
    const url = new URL(ports.publicUrl);
    if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) secure = '';
  } catch {
    // An unparsable public URL keeps Secure.
  }
  return `${CONSOLE_COOKIE}=${value}; Path=/console; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
}

export function redirectTo(location: string, cookies: string[] = []): HttpResult {
  return {
    statusCode: 303,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' },
    ...(cookies.length ? { cookies } : {}),
  };
}
