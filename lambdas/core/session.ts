/**
 * What approver sign-in keeps in the browser, and who a signed-in person is. Pure.
 *
 * Two cookies, each `<payload>.<mac>` in base64url and MAC'd with the review-token key under its own purpose (a
 * value sealed for one purpose never opens as another, nor as a review token):
 * - the sign-in flow (`cs_oidc`, 10 minutes): the request id and the OIDC state, nonce and PKCE code verifier, so
 *   the callback can check the answer belongs to the flow this browser started;
 * - the session (`cs_session`, 8 hours): the verified email of the signed-in person, for step-up checks;
 * - the console session (`cs_console`, 8 hours, `Path=/console`): the same, for the console, sealed under its own
 *   purpose so neither session opens as the other.
 */
import { type ApprovalState, approversToAsk, isSelf } from './approval';
import type { Config } from './config';
import { identityDirectory, parsePrincipal } from './identity';
import type { MacPort } from './review-token';
import * as z from './zod';

export const FLOW_COOKIE = 'cs_oidc';
export const SESSION_COOKIE = 'cs_session';
export const CONSOLE_COOKIE = 'cs_console';
export const FLOW_TTL_SECONDS = 10 * 60;
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

export const flowSchema = z.strictObject({
  /** The request whose review page sign-in returns to; absent for a console sign-in. */
  requestId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** Where sign-in returns: the console, or (absent) the request's review page. */
  to: z.optional(z.literal('console')),
  state: z.string().check(z.minLength(1), z.maxLength(256)),
  nonce: z.string().check(z.minLength(1), z.maxLength(256)),
  codeVerifier: z.string().check(z.minLength(43), z.maxLength(128)),
  exp: z.int().check(z.positive()),
});
export type SignInFlow = z.infer<typeof flowSchema>;

export const sessionSchema = z.strictObject({ email: z.string().check(z.minLength(3), z.maxLength(320)), exp: z.int().check(z.positive()) });
export type Session = z.infer<typeof sessionSchema>;

/** A console session: the person, and the session's own id, which sign-out ends on the server (`ConsoleSessions`). */
export const consoleSessionSchema = z.strictObject({
  email: z.string().check(z.minLength(3), z.maxLength(320)),
  sid: z.string().check(z.regex(/^[A-Za-z0-9_-]{22,64}$/)),
  exp: z.int().check(z.positive()),
});
export type ConsoleSession = z.infer<typeof consoleSessionSchema>;

type Purpose = 'oidc-flow' | 'session' | 'console-session';
const macInput = (purpose: Purpose, encoded: string) => Buffer.from(`countersign.${purpose}.v1.${encoded}`, 'utf8');
const SEALED_PATTERN = /^[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{43}$/;

export async function seal(mac: MacPort, purpose: Purpose, payload: SignInFlow | Session | ConsoleSession): Promise<string> {
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${encoded}.${(await mac.generate(macInput(purpose, encoded))).toString('base64url')}`;
}

/** The payload when the MAC holds, the schema fits and `exp` is still ahead; otherwise undefined. */
export async function unseal<S extends typeof flowSchema | typeof sessionSchema | typeof consoleSessionSchema>(
  mac: MacPort,
  purpose: Purpose,
  schema: S,
  value: string | undefined,
  now: Date,
): Promise<z.infer<S> | undefined> {
  if (!value || !SEALED_PATTERN.test(value)) return undefined;
  const [encoded = '', tag = ''] = value.split('.');
  if (!(await mac.verify(macInput(purpose, encoded), Buffer.from(tag, 'base64url')))) return undefined;
  let parsed: z.infer<S>;
  try {
    parsed = z.parse(schema, JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'))) as z.infer<S>;
  } catch {
    return undefined;
  }
  return now.getTime() < parsed.exp * 1000 ? parsed : undefined;
}

/** A cookie's value among `name=value` pairs (API Gateway payload 2.0 `cookies`, or a Cookie header split on `;`). */
export function cookieValue(cookies: readonly string[], name: string): string | undefined {
  for (const pair of cookies) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * The approver identity (a member id of the request's rule) that a verified `email` belongs to, among the approvers
 * the request may ask: a member with that id or that `email`, in any spelling. Undefined for anyone else, the
 * requester and onBehalfOf (under any of their aliases) included.
 */
export function approverForEmail(config: Pick<Config, 'groups'>, state: ApprovalState, email: string): string | undefined {
  let principal;
  try {
    principal = parsePrincipal(email);
  } catch {
    return undefined;
  }
  if (principal.kind !== 'email') return undefined;
  const directory = identityDirectory(config);
  if (isSelf(state, principal.id, directory)) return undefined;
  return approversToAsk(state, directory).find((id) => directory.samePerson(id, principal.id));
}

/** Where to email an approver: the member's `email`, else the id when it is an email address. */
export function approverAddress(config: Pick<Config, 'groups'>, approver: string): string | undefined {
  return identityDirectory(config).emailOf(approver);
}

/**
 * Whether the request's rule asks for sign-in even on personal links (`requireSignIn: true`). The rule is looked up
 * by the name the ledger recorded; when it is gone from the config (renamed since), sign-in is required whenever
 * OIDC is configured: failing closed.
 */
export function signInRequired(config: Pick<Config, 'rules' | 'default' | 'auth'>, state: ApprovalState): boolean {
  // The policy record says what applied when the request was decided; a later config change does not loosen it.
  if (state.policy?.requireSignIn !== undefined) return state.policy.requireSignIn;
  const name = state.policy?.rule;
  const outcome = config.rules.find((r) => r.name === name) ?? (name === 'default' ? config.default : undefined);
  if (!outcome) return config.auth.oidc !== undefined;
  return outcome.requireSignIn === true;
}
