/**
 * Who someone is, in one place. Every identity Countersign compares (a caller, a requester, `onBehalfOf`, a group
 * member, an auditor, a Slack binding) is parsed here into one canonical spelling, and "is this the same person?" is
 * answered here only. Pure.
 *
 * - Email addresses are trimmed, NFKC-normalised and lower-cased.
 * - IAM principals keep AWS's shapes: `arn:<partition>:iam::<account>:user/<name>`, `…:role/<name>`, `…:root`, and
 *   the session a role hands out, `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`. IAM names are
 *   case-insensitive and unique in an account whatever their path, so the canonical spelling is lower-cased and has
 *   no path. A session is its role plus a session name chosen by whoever assumed the role: for "same person" a
 *   session is its role, so a role never approves what any session of the same role asked.
 * - IAM Identity Center sessions (`assumed-role/AWSReservedSSO_<set>_<hash>/<user>`) are the human they name, but only
 *   for roles the config lists under `identityCenter.roles`, pinned by the role's unique id: anyone who can create a
 *   role chooses its name and its session names, but not its id.
 * - Anything else (a name, a Slack user id) is compared in its canonical text form.
 * Invisible, bidi and control characters are refused in every identity.
 */
import { CountersignError } from './errors';
import { canonicalText, hasHiddenCharacters, lookAlikeWord } from './text';
import * as z from './zod';

export type PrincipalKind = 'email' | 'iam-user' | 'iam-role' | 'iam-root' | 'assumed-role' | 'federated-user' | 'name';

export interface Principal {
  readonly kind: PrincipalKind;
  /** The canonical spelling: what is recorded and shown. */
  readonly id: string;
  /** Who this is for "same person": the role of an assumed-role session, the id itself otherwise. */
  readonly party: string;
  /** For an assumed-role session: the role's canonical ARN and the session name. */
  readonly role?: string;
  readonly session?: string;
}

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

const IAM_NAME = /^[\w+=,.@-]{1,128}$/u;
const ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso(?:-[a-z])?):(iam|sts)::(\d{12}):(.+)$/;
const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,255}$/u;
const NAME = /^[\p{L}\p{N}\p{M} ._'+-]{1,256}$/u;

/** Parses an identity into its canonical form; throws IdentityError saying what is wrong. */
export function parsePrincipal(raw: string): Principal {
  if (typeof raw !== 'string' || raw.trim() === '') throw new IdentityError('an identity cannot be empty');
  // Surrounding spaces, tabs and line breaks are trimmed; anything hidden is refused, at the ends too (String#trim would
  // drop a BOM or a line separator silently).
  if (hasHiddenCharacters(raw.replace(/^[\p{Zs}\t\n\r]+|[\p{Zs}\t\n\r]+$/gu, '')))
    throw new IdentityError('holds a hidden character: an invisible, bidi or control character');
  const text = raw.normalize('NFKC').trim();
  const mixed = lookAlikeWord(text);
  if (mixed !== undefined) throw new IdentityError(`mixes look-alike letters of several scripts ("${mixed}")`);
  if (text.length > 512) throw new IdentityError('is longer than 512 characters');
  if (/^arn:/i.test(text)) return parseArn(text.toLowerCase());
  if (text.includes('@')) {
    const email = text.toLowerCase();
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (!EMAIL.test(email) || !domain.includes('.') || domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) {
      throw new IdentityError('is not an email address');
    }
    return { kind: 'email', id: email, party: email };
  }
  if (!NAME.test(text)) throw new IdentityError('is not an email address, an IAM principal ARN or a plain name');
  const name = canonicalText(text);
  return { kind: 'name', id: name, party: name };
}

function parseArn(arn: string): Principal {
  const match = ARN.exec(arn);
  if (!match) throw new IdentityError('is not an IAM or STS principal ARN (arn:aws:iam::<account>:user/… or role/…, arn:aws:sts::<account>:assumed-role/…)');
  const [, partition, service, account, resource = ''] = match;
  const prefix = (svc: string) => `arn:${partition}:${svc}::${account}:`;
  const parts = resource.split('/');
  const last = parts[parts.length - 1] ?? '';
  if (service === 'iam') {
    if (resource === 'root') return plain('iam-root', `${prefix('iam')}root`);
    if ((parts[0] === 'user' || parts[0] === 'role') && parts.length >= 2 && IAM_NAME.test(last) && parts.slice(1, -1).every((p) => IAM_NAME.test(p))) {
      // The path is for organising; the name is unique in the account, and assumed-role ARNs carry no path.
      return plain(parts[0] === 'user' ? 'iam-user' : 'iam-role', `${prefix('iam')}${parts[0]}/${last}`);
    }
    throw new IdentityError('is an IAM ARN but not a user, role or root');
  }
  if (parts[0] === 'assumed-role' && parts.length === 3 && IAM_NAME.test(parts[1]!) && /^[\w+=,.@-]{2,64}$/u.test(parts[2]!)) {
    const role = `${prefix('iam')}role/${parts[1]}`;
    return { kind: 'assumed-role', id: `${prefix('sts')}assumed-role/${parts[1]}/${parts[2]}`, party: role, role, session: parts[2]! };
  }
  if (parts[0] === 'federated-user' && parts.length === 2 && IAM_NAME.test(parts[1]!))
    return plain('federated-user', `${prefix('sts')}federated-user/${parts[1]}`);
  throw new IdentityError('is an STS ARN but not an assumed-role or federated-user session');
}

const plain = (kind: PrincipalKind, id: string): Principal => ({ kind, id, party: id });

/** The canonical spelling of an identity; throws IdentityError. */
export function canonicalPrincipal(raw: string): string {
  return parsePrincipal(raw).id;
}

/**
 * The party an identity belongs to, or, for text that is no identity at all, its canonical text (compared, never
 * trusted): the key recorded ids (votes, quorum members) are counted and compared by.
 */
export function identityKey(raw: string): string {
  try {
    return parsePrincipal(raw).party;
  } catch {
    return canonicalText(raw);
  }
}

/**
 * What a `requester` or `onBehalfOf` glob in a rule is matched against: the canonical spelling and, for a session,
 * its role's ARN too, so a rule naming `arn:aws:iam::*:role/ci-*` matches every session of those roles.
 */
export function principalMatchForms(raw: string): string[] {
  try {
    const principal = parsePrincipal(raw);
    return principal.role ? [principal.id, principal.role] : [principal.id];
  } catch {
    return [canonicalText(raw)];
  }
}

/** A zod string that must be an identity of the allowed kinds, and becomes its canonical spelling. */
export function identitySchema(allowed: readonly PrincipalKind[], why = '') {
  // zod/mini's transform context has no addIssue: its issue is pushed as classic zod's addIssue would (the same code,
  // message and input), so parents report it alike.
  return z.pipe(
    z.string(),
    z.transform((raw, ctx) => {
      let principal: Principal;
      try {
        principal = parsePrincipal(raw);
      } catch (err) {
        ctx.issues.push({ code: 'custom', message: `${JSON.stringify(raw)} ${(err as Error).message}`, input: raw });
        return z.NEVER;
      }
      if (!allowed.includes(principal.kind)) {
        ctx.issues.push({ code: 'custom', message: `${JSON.stringify(raw)} is ${KIND_WORDS[principal.kind]}${why}`, input: raw });
        return z.NEVER;
      }
      return principal.id;
    }),
  );
}

const KIND_WORDS: Record<PrincipalKind, string> = {
  email: 'an email address',
  'iam-user': 'an IAM user',
  'iam-role': 'an IAM role',
  'iam-root': 'an account root',
  'assumed-role':
    'an assumed-role session, whose session name whoever assumes the role chooses: name the role (arn:aws:iam::<account>:role/<name>) or, for IAM Identity Center, the person’s email',
  'federated-user': 'a federated-user session, whose name the federating caller chooses',
  name: 'not an email address or an IAM principal ARN',
};

/** The kinds that may name an approver or an auditor: people and principals whose name nobody else chooses. */
export const MEMBER_KINDS: readonly PrincipalKind[] = ['email', 'iam-user', 'iam-role', 'iam-root'];

/** An IAM Identity Center permission set's role, whose sessions are the people they name. */
export interface IdentityCenterRole {
  /** Canonical role ARN (no path). */
  readonly arn: string;
  /** The role's unique id (`AROA…`), which a deleted and re-created role of the same name does not keep. */
  readonly roleId: string;
}

/** What API Gateway puts in `requestContext.authorizer.iam` for a SigV4 caller (and local mode for an API key). */
export interface IamCaller {
  readonly userArn?: string | null;
  /** For a role session `AROA…:<session>`; for an IAM user `AIDA…`. */
  readonly userId?: string | null;
}

/**
 * The authenticated caller as the decision rules see it: its canonical spelling, or, for a session of a configured
 * IAM Identity Center role whose unique id matches, the person the session names (when it names an email address).
 */
export function callerIdentity(iam: IamCaller, identityCenterRoles: readonly IdentityCenterRole[]): string {
  const principal = parsePrincipal(iam.userArn ?? '');
  if (principal.kind !== 'assumed-role' || !principal.session) return principal.id;
  const role = identityCenterRoles.find((r) => r.arn === principal.role);
  const roleId = (iam.userId ?? '').split(':')[0] ?? '';
  if (!role || roleId.toUpperCase() !== role.roleId.toUpperCase()) return principal.id;
  try {
    const person = parsePrincipal(principal.session);
    return person.kind === 'email' ? person.id : principal.id;
  } catch {
    return principal.id;
  }
}

/** A configured person: a group member's id and its aliases. */
export interface PersonEntry {
  readonly id: string;
  readonly email?: string;
  readonly slackUserId?: string;
}

/**
 * Who is who, built from the config: each member's aliases (id, email, Slack user id) are one person, and the
 * auditors. Every identity question asks this.
 */
export class IdentityDirectory {
  /** Party key -> the member id of the person it names. */
  private readonly personByKey = new Map<string, string>();
  /** Member id -> every party key of that person. */
  private readonly keysByPerson = new Map<string, Set<string>>();
  private readonly auditorKeys: Set<string>;
  private readonly slackByPerson = new Map<string, Set<string>>();
  /** Member id -> the address to email that person at. */
  private readonly emailByPerson = new Map<string, string>();

  constructor(members: Iterable<PersonEntry>, auditors: readonly string[] = []) {
    for (const member of members) {
      const id = identityKey(member.id);
      const keys = this.keysByPerson.get(id) ?? new Set([id]);
      if (member.email) {
        keys.add(identityKey(member.email));
        if (!this.emailByPerson.has(id)) this.emailByPerson.set(id, identityKey(member.email));
      }
      if (member.slackUserId) {
        keys.add(slackKey(member.slackUserId));
        this.slackByPerson.set(id, new Set([...(this.slackByPerson.get(id) ?? []), member.slackUserId]));
      }
      this.keysByPerson.set(id, keys);
    }
    for (const [id, keys] of this.keysByPerson) for (const key of keys) if (!this.personByKey.has(key)) this.personByKey.set(key, id);
    this.auditorKeys = new Set(auditors.flatMap((a) => [...this.keysOf(a)]));
  }

  /** Every key an identity is known by: its party and, when that is a configured person's alias, all of theirs. */
  keysOf(identity: string): Set<string> {
    const party = identityKey(identity);
    const person = this.personByKey.get(party);
    return new Set([party, ...(person ? (this.keysByPerson.get(person) ?? []) : [])]);
  }

  /** The member id of the configured person an identity names (any alias, any spelling), if any. */
  personOf(identity: string): string | undefined {
    return this.personByKey.get(identityKey(identity));
  }

  /** Where to email a person: the member's `email`, else the identity itself when it is an email address. */
  emailOf(identity: string): string | undefined {
    const person = this.personOf(identity);
    const email = person === undefined ? undefined : this.emailByPerson.get(person);
    if (email) return email;
    try {
      const principal = parsePrincipal(person ?? identity);
      return principal.kind === 'email' ? principal.id : undefined;
    } catch {
      return undefined;
    }
  }

  /** The Slack user ids bound to a person. */
  slackUsersOf(identity: string): string[] {
    const person = this.personOf(identity);
    return person === undefined ? [] : [...(this.slackByPerson.get(person) ?? [])];
  }

  /** The member id a Slack user is bound to, if any. */
  personOfSlackUser(slackUserId: string): string | undefined {
    return this.personByKey.get(slackKey(slackUserId));
  }

  /** Whether two identities are the same person (or the same role, whatever the sessions). */
  samePerson(a: string, b: string): boolean {
    const keys = this.keysOf(a);
    for (const key of this.keysOf(b)) if (keys.has(key)) return true;
    return false;
  }

  /** Whether an identity is the same person as any of `others`. */
  isAnyOf(identity: string, others: ReadonlyArray<string | undefined>): boolean {
    return others.some((other) => other !== undefined && this.samePerson(identity, other));
  }

  /**
   * Who a request's requester or `onBehalfOf` may stand for, failing closed: its keys and, for an assumed-role session
   * named by an email address (an IAM Identity Center session, or a pipeline's role session named after whoever
   * started it), that person's too. Only the self-approval check widens this way; who votes is never widened.
   */
  private selfKeysOf(identity: string): Set<string> {
    const keys = this.keysOf(identity);
    try {
      const principal = parsePrincipal(identity);
      const named = principal.kind === 'assumed-role' && principal.session ? parsePrincipal(principal.session) : undefined;
      if (named?.kind === 'email') for (const key of this.keysOf(named.id)) keys.add(key);
    } catch {
      // not an identity, or a session name that is none: its own keys only
    }
    return keys;
  }

  /** Whether `identity` is, or may be, one of `selves` (a request's requester and onBehalfOf). */
  isOneOf(identity: string, selves: ReadonlyArray<string | undefined>): boolean {
    const keys = this.keysOf(identity);
    return selves.some((self) => self !== undefined && [...this.selfKeysOf(self)].some((key) => keys.has(key)));
  }

  isAuditor(identity: string): boolean {
    for (const key of this.keysOf(identity)) if (this.auditorKeys.has(key)) return true;
    return false;
  }
}

// Not prefixed: `onBehalfOf: U0ALICE` names the person bound to that Slack user.
const slackKey = (slackUserId: string) => canonicalText(slackUserId);

const directories = new WeakMap<object, IdentityDirectory>();

/** The directory of a config's groups and auditors, built once per config object. */
export function identityDirectory(config: {
  readonly groups: Readonly<Record<string, { readonly members: readonly PersonEntry[] }>>;
  readonly auditors?: readonly string[];
}): IdentityDirectory {
  let directory = directories.get(config);
  if (!directory) {
    directory = new IdentityDirectory(
      Object.values(config.groups).flatMap((g) => g.members),
      config.auditors ?? [],
    );
    directories.set(config, directory);
  }
  return directory;
}

/**
 * `onBehalfOf` in its canonical spelling, or a 400 naming it: the person an agent acts for is an identity. Intake
 * stores it so, and the console's explain form reads it so.
 */
export function onBehalfOfIdentity(raw: string): string {
  try {
    return canonicalPrincipal(raw);
  } catch (err) {
    if (!(err instanceof IdentityError)) throw err;
    throw new CountersignError('invalid_request', `onBehalfOf ${err.message}`, [{ path: 'onBehalfOf', message: err.message }]);
  }
}
