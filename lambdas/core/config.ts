/**
 * The Countersign config file (docs/api.md "Config file"): its schema, and the cross-field checks a schema alone
 * cannot express (rules naming groups that exist, unique rule names, reachable quorums). Pure: it takes the
 * parsed document and answers a typed config or every problem, each with the path of the bad field. Reading the
 * file's YAML is ./config-yaml.ts's, which the functions never import: they get the config already validated.
 */
import { MAX_DURATION_SECONDS, MAX_REDEEM_WITHIN_SECONDS, parseDuration } from './duration';
import { grantScopeFieldSchema, MAX_GRANT_SECONDS, MIN_GRANT_SECONDS } from './grant';
import { IdentityError, identitySchema, MEMBER_KINDS, parsePrincipal } from './identity';
import { maskPathSchema } from './masking';
import { canonicalText } from './text';
import * as z from './zod';

const name = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"'));

export const durationSchema = z.string({ error: 'expected a duration like 30s, 15m, 1h or 7d' }).check(
  z.refine((text) => parseDuration(text) !== undefined, 'expected a duration like 30s, 15m, 1h or 7d'),
  z.refine((text) => (parseDuration(text) ?? 0) <= MAX_DURATION_SECONDS, 'must be at most 365d'),
);

export const effectSchema = z.enum(['allow', 'deny', 'require_approval'], {
  error: 'expected one of allow, deny, require_approval',
});

/** An approver or auditor: an email address, or an IAM user, role or root ARN; kept in its canonical spelling. */
const memberIdentity = identitySchema(MEMBER_KINDS);

const memberSchema = z.strictObject({
  /** Approver identity: an email address or an IAM principal ARN (a role stands for every session of it). */
  id: z.pipe(z.string().check(z.minLength(1), z.maxLength(256)), memberIdentity),
  email: z.optional(z.pipe(z.email(), identitySchema(['email']))),
  slackUserId: z.optional(z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user id such as U0123ABCD'))),
});

const groupSchema = z.strictObject({ members: z.array(memberSchema).check(z.minLength(1, 'a group needs at least one member')) });

const stringOrList = z.union([z.string().check(z.minLength(1)), z.array(z.string().check(z.minLength(1))).check(z.minLength(1))]);

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A condition on one parameter; every operator given must hold. */
export const parameterConditionSchema = z
  .strictObject({
    equals: z.optional(scalar),
    in: z.optional(z.array(scalar).check(z.minLength(1))),
    not: z.optional(z.union([scalar, z.array(scalar).check(z.minLength(1))])),
    exists: z.optional(z.boolean()),
    gt: z.optional(z.number()),
    gte: z.optional(z.number()),
    lt: z.optional(z.number()),
    lte: z.optional(z.number()),
    glob: z.optional(z.string().check(z.minLength(1))),
  })
  .check(z.refine((c) => Object.keys(c).length > 0, 'a condition needs at least one of equals, in, not, exists, gt, gte, lt, lte, glob'));
export type ParameterCondition = z.infer<typeof parameterConditionSchema>;

/** A parameter path: dotted keys into the request's parameters, e.g. `rows` or `db.host`. */
const parameterPath = z.string().check(z.regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,15}$/, 'expected a dotted path of keys such as rows or db.host'));

/**
 * A glob on an identity (`requester`, `onBehalfOf`), matched against canonical identities: IAM ARNs without their
 * path, so a glob that names a path could never match a session.
 */
const principalGlob = z.string().check(
  z.minLength(1),
  z.superRefine((glob, ctx) => {
    const path = /:(role|user)\/[^/]*\//.exec(canonicalText(glob));
    if (!path) return;
    ctx.addIssue({
      code: 'custom',
      message:
        path[1] === 'role'
          ? 'names a role with a path, but assumed-role sessions carry no path (IAM paths are dropped from canonical ARNs): name the role as arn:aws:iam::<account>:role/<name>'
          : 'names a user with a path, but IAM paths are dropped from canonical ARNs: name the user as arn:aws:iam::<account>:user/<name>',
    });
  }),
);

/** Every text is compared in canonical form (core/text.ts `canonicalText`), on the config's side too. */
const matchSchema = z.strictObject({
  /** Glob on the action name: `*` matches any run of characters. */
  action: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  environment: z.optional(stringOrList),
  /** Globs on the resource ARN, the caller, and the human the agent acts for. */
  resource: z.optional(z.string().check(z.minLength(1))),
  requester: z.optional(principalGlob),
  onBehalfOf: z.optional(principalGlob),
  agent: z.optional(z.strictObject({ name: z.string().check(z.minLength(1)) })),
  /** Conditions on the request's parameters, all of which must hold. */
  parameters: z.optional(z.record(parameterPath, parameterConditionSchema)),
});

export const CHANNELS = ['email', 'slack', 'teams'] as const;
export const channelSchema = z.enum(CHANNELS, { error: 'expected one of email, slack, teams' });
export type Channel = z.infer<typeof channelSchema>;

/** What a rule (or the default) decides; approval settings apply to `require_approval` only. */
const outcomeFields = {
  effect: effectSchema,
  reason: z.optional(z.string().check(z.maxLength(1000))),
  approvers: z.optional(z.array(name).check(z.minLength(1))),
  minApprovals: z.optional(z.int().check(z.gte(1), z.lte(100))),
  timeout: z.optional(durationSchema),
  /** Where approvers are asked. @default every configured channel */
  channels: z.optional(z.array(channelSchema).check(z.minLength(1))),
  /** Even personal review links need OIDC sign-in (step-up for high-risk actions). @default false */
  requireSignIn: z.optional(z.boolean()),
  /** Re-notify the approvers who have not voted, every this long. */
  remindAfter: z.optional(durationSchema),
  /** After this long without an outcome, add the `escalateTo` groups as approvers and ask them. */
  escalateAfter: z.optional(durationSchema),
  escalateTo: z.optional(z.array(name).check(z.minLength(1))),
  /** Paths to mask in notifications, pages and the ledger, besides the global `mask`. */
  mask: z.optional(z.array(maskPathSchema)),
  /** An approval not redeemed within this long after it was approved lapses (`expired`, `not redeemed`). At most 7d. */
  redeemWithin: z.optional(durationSchema.check(z.refine((text) => (parseDuration(text) ?? 0) <= MAX_REDEEM_WITHIN_SECONDS, 'must be at most 7d'))),
  /** Quorum across teams: distinct approvals from each group (a person in two groups counts once). */
  require: z.optional(z.array(z.strictObject({ group: name, min: z.int().check(z.gte(1), z.lte(100)) })).check(z.minLength(1))),
};

/**
 * A rule's grant: approvers may approve a request for up to `maxFor`, covering later requests from the same requester
 * that this rule decides, with the same values in every `scope` field (docs/api.md "Grants").
 */
const grantConfigSchema = z.strictObject({
  maxFor: z.pipe(
    durationSchema,
    z.string().check(
      z.refine((text) => (parseDuration(text) ?? 0) >= MIN_GRANT_SECONDS, 'must be at least 1m'),
      z.refine((text) => (parseDuration(text) ?? 0) <= MAX_GRANT_SECONDS, 'must be at most 30d'),
    ),
  ),
  scope: z.array(grantScopeFieldSchema).check(
    z.minLength(1),
    z.refine((fields) => new Set(fields).size === fields.length, 'lists a field twice'),
    z.refine((fields) => fields.includes('requester'), 'must include requester: a grant is always for one requester'),
  ),
  /** A rule with `requireSignIn` grants only when this says so. @default false */
  withSignIn: z.optional(z.boolean()),
});
export type GrantConfig = z.infer<typeof grantConfigSchema>;

/**
 * How a rule takes part: `enforce` decides when it matches; `shadow` only records what it would have decided (in the
 * `policy_decided` record and the ShadowDecisions metric) and lets the request go on to the next rule.
 */
export const ruleModeSchema = z.enum(['enforce', 'shadow'], { error: 'expected one of enforce, shadow' });

const ruleSchema = z.strictObject({
  name,
  match: matchSchema,
  ...outcomeFields,
  /** @default enforce */
  mode: z.optional(ruleModeSchema),
  grant: z.optional(grantConfigSchema),
});
const defaultSchema = z.strictObject(outcomeFields);

/** A secret is never written in the config: `env:NAME` (local mode, tests) or a Secrets Manager secret ARN (AWS). */
export const SECRET_REF_PATTERN = /^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+)$/;
const secretRef = z.string().check(z.regex(SECRET_REF_PATTERN, 'expected a secret reference: env:NAME or a Secrets Manager secret ARN'));

const channelsSchema = z.strictObject({
  email: z.optional(z.strictObject({ from: z.email(), configurationSet: z.optional(z.string().check(z.minLength(1))) })),
  slack: z.optional(z.strictObject({ botToken: secretRef, signingSecret: secretRef, channel: z.optional(z.string().check(z.minLength(1))) })),
  teams: z.optional(z.strictObject({ webhookUrl: secretRef })),
});

const authSchema = z.strictObject({
  oidc: z.optional(z.strictObject({ issuer: z.url(), clientId: z.string().check(z.minLength(1)), clientSecret: secretRef })),
});

/** A principal as AWS reports it (any IAM shape, sessions included): checked, but kept as written, as AWS would send it. */
const reportedPrincipal = z.string().check(
  z.minLength(1),
  z.refine((raw) => {
    try {
      parsePrincipal(raw);
      return true;
    } catch {
      return false;
    }
  }, 'expected an email address or an IAM principal ARN (user, role, root, assumed-role or federated-user), without hidden characters'),
);

/** What an API key stands for: a principal, or a principal with the unique id AWS would report with it. */
export const localCallerSchema = z.union([
  reportedPrincipal,
  z.strictObject({
    principal: reportedPrincipal,
    /** `requestContext.authorizer.iam.userId`: for a role session `AROA…:<session>`. */
    userId: z.optional(z.string().check(z.regex(/^[A-Z0-9]{16,128}(:[\w+=,.@-]{2,64})?$/, 'expected a unique id such as AROAEXAMPLEID123:session'))),
  }),
]);
export type LocalCaller = z.infer<typeof localCallerSchema>;

const localSchema = z.strictObject({
  /** Bearer key -> principal, for local mode only. */
  apiKeys: z._default(z.record(z.string().check(z.regex(/^[A-Za-z0-9._~+/-]{6,256}$/, 'an API key is 6-256 URL-safe characters')), localCallerSchema), {}),
});

/**
 * IAM Identity Center permission sets whose sessions are the people they name: `assumed-role/AWSReservedSSO_…/<user>`
 * becomes `<user>` (an email address). The role's unique id (`aws iam get-role --role-name … --query Role.RoleId`) pins
 * the role: one deleted and re-created under the same name gets a new id.
 */
const identityCenterSchema = z.strictObject({
  roles: z
    .array(
      z.strictObject({
        arn: z
          .pipe(z.string(), identitySchema(['iam-role']))
          .check(z.refine((arn) => /:role\/awsreservedsso_[^/]+$/.test(arn), 'expected an IAM Identity Center role (its name starts with AWSReservedSSO_)')),
        roleId: z.string().check(z.regex(/^AROA[A-Z0-9]{12,124}$/, "expected the role's unique id (AROA…)")),
      }),
    )
    .check(z.minLength(1)),
});

/** At most this many alarm email addresses: beyond a handful, subscribe a mailing list (or a pager) instead. */
export const MAX_ALARM_EMAILS = 10;

/**
 * How the deployment is run (lib/operations.ts): who the stack's CloudWatch alarms email, through their SNS topic.
 * Nothing here reaches the functions (see `shippedConfig`).
 */
const operationsSchema = z.strictObject({
  /** One address or a list; each gets an SNS email subscription, which its owner must confirm. @default none */
  alarmEmail: z.optional(
    z.union([z.email(), z.array(z.email()).check(z.minLength(1), z.maxLength(MAX_ALARM_EMAILS))], {
      error: `expected an email address or a list of 1-${MAX_ALARM_EMAILS} email addresses`,
    }),
  ),
});

export const DEFAULT_TIMEOUT = '1h';

const documentSchema = z.strictObject({
  version: z.literal(1, { error: 'expected version: 1' }),
  groups: z._default(z.record(name, groupSchema), {}),
  rules: z._default(z.array(ruleSchema), []),
  default: z._default(defaultSchema, { effect: 'deny', reason: 'No rule matched and the config sets no default.' }),
  auditors: z._default(z.array(z.pipe(z.string().check(z.minLength(1)), memberIdentity)), []),
  identityCenter: z.optional(identityCenterSchema),
  /** Paths masked for every request (secrets in any string are masked by the built-in detectors anyway). */
  mask: z._default(z.array(maskPathSchema), []),
  channels: z._default(channelsSchema, {}),
  auth: z._default(authSchema, {}),
  operations: z.optional(operationsSchema),
  local: z._default(localSchema, { apiKeys: {} }),
});

interface CrossFieldProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The checks between fields: unique rule names, approver groups that exist, reachable quorums, approval settings
 * only where approval is required. They read the document defensively, so they report alongside the schema's own
 * problems even when other fields are malformed: one run names every bad field.
 */
function crossFieldProblems(document: unknown): CrossFieldProblem[] {
  if (!isRecord(document)) return [];
  const problems: CrossFieldProblem[] = samePersonProblems(document);
  const groups = isRecord(document.groups) ? document.groups : {};
  const rules = Array.isArray(document.rules) ? document.rules : [];
  const seen = new Map<string, number>();
  rules.forEach((rule, index) => {
    if (!isRecord(rule) || typeof rule.name !== 'string') return;
    const first = seen.get(rule.name);
    if (first !== undefined) problems.push({ path: ['rules', index, 'name'], message: `duplicate rule name "${rule.name}" (also rules.${first})` });
    else seen.set(rule.name, index);
  });
  // A Teams card cannot say who clicks: approvers identify by a personal link (email) or by signing in.
  if (
    isRecord(document.channels) &&
    document.channels.teams !== undefined &&
    document.channels.email === undefined &&
    !(isRecord(document.auth) && document.auth.oidc !== undefined)
  ) {
    problems.push({ path: ['channels', 'teams'], message: 'Teams needs channels.email or auth.oidc so approvers can prove who they are' });
  }
  const outcomes = [
    ...rules.map((rule, index) => ({ path: ['rules', index] as (string | number)[], outcome: rule })),
    ...(document.default === undefined ? [] : [{ path: ['default'] as (string | number)[], outcome: document.default }]),
  ];
  for (const { path, outcome } of outcomes) {
    // With no valid effect there is nothing to check the approval settings against.
    if (!isRecord(outcome) || !effectSchema.safeParse(outcome.effect).success) continue;
    if (outcome.effect !== 'require_approval') {
      for (const field of [
        'approvers',
        'minApprovals',
        'timeout',
        'channels',
        'requireSignIn',
        'require',
        'remindAfter',
        'escalateAfter',
        'escalateTo',
        'grant',
      ]) {
        if (outcome[field] !== undefined) problems.push({ path: [...path, field], message: 'only applies when effect is require_approval' });
      }
      // Only an approval's workflow can time a lapse: a policy allow starts none (its receipt lives an hour).
      if (outcome.redeemWithin !== undefined) problems.push({ path: [...path, 'redeemWithin'], message: 'only applies when effect is require_approval' });
      continue;
    }
    // A requireSignIn rule is step-up for a risky action: a grant would skip it for every later call, unless said so.
    if (outcome.requireSignIn === true && isRecord(outcome.grant) && outcome.grant.withSignIn !== true) {
      problems.push({
        path: [...path, 'grant'],
        message: 'a requireSignIn rule grants only with grant.withSignIn: true (each later call would skip the sign-in)',
      });
    }
    // The ledger keeps a masked field masked: a grant scoped to it could never match a later request.
    if (isRecord(outcome.grant) && Array.isArray(outcome.grant.scope)) {
      const masks = [...(Array.isArray(document.mask) ? document.mask : []), ...(Array.isArray(outcome.mask) ? outcome.mask : [])];
      const covered = (field: string) =>
        masks.some((m) => typeof m === 'string' && (field === 'agent' ? m === 'agent' || m === 'agent.name' || m === 'agent.*' : m === field));
      outcome.grant.scope.forEach((field, i) => {
        if (typeof field === 'string' && (field === 'resource' || field === 'agent') && covered(field)) {
          problems.push({ path: [...path, 'grant', 'scope', i], message: `${field} is masked, so a grant scoped to it could never match a later request` });
        }
      });
    }
    // Reminders and escalation must fall before the request expires, and escalation needs both halves.
    const timeout = typeof outcome.timeout === 'string' ? (parseDuration(outcome.timeout) ?? 3600) : 3600;
    for (const field of ['remindAfter', 'escalateAfter'] as const) {
      const seconds = typeof outcome[field] === 'string' ? parseDuration(outcome[field] as string) : undefined;
      const shown = typeof outcome.timeout === 'string' ? outcome.timeout : DEFAULT_TIMEOUT;
      if (seconds !== undefined && seconds >= timeout) problems.push({ path: [...path, field], message: `must be shorter than the timeout (${shown})` });
    }
    // The workflow waits out the timeout and then the redeem window, and a Standard execution lives at most a year.
    const redeemWithin = typeof outcome.redeemWithin === 'string' ? parseDuration(outcome.redeemWithin) : undefined;
    if (redeemWithin !== undefined && timeout + redeemWithin > MAX_DURATION_SECONDS) {
      problems.push({ path: [...path, 'redeemWithin'], message: 'the timeout and redeemWithin together must be at most 365d' });
    }
    if ((outcome.escalateAfter === undefined) !== (outcome.escalateTo === undefined)) {
      problems.push({
        path: [...path, outcome.escalateAfter === undefined ? 'escalateAfter' : 'escalateTo'],
        message: 'escalateAfter and escalateTo go together',
      });
    }
    if (Array.isArray(outcome.escalateTo)) {
      outcome.escalateTo.forEach((group, i) => {
        if (typeof group === 'string' && groups[group] === undefined) problems.push({ path: [...path, 'escalateTo', i], message: `unknown group "${group}"` });
      });
    }
    if (Array.isArray(outcome.require)) {
      if (outcome.approvers !== undefined || outcome.minApprovals !== undefined) {
        problems.push({ path: [...path, 'require'], message: 'use either require or approvers with minApprovals, not both' });
      }
      const everyone = new Set<string>();
      const before = problems.length;
      outcome.require.forEach((req, i) => {
        if (!isRecord(req) || typeof req.group !== 'string') return;
        const found = groups[req.group];
        if (found === undefined) return problems.push({ path: [...path, 'require', i, 'group'], message: `unknown group "${req.group}"` });
        // Unvalidated input: a member id that is not a string is reported by the schema, not counted here.
        const members =
          isRecord(found) && Array.isArray(found.members)
            ? [...new Set(found.members.filter(isRecord).flatMap((m) => (typeof m.id === 'string' ? [personKey(m.id)] : [])))]
            : [];
        members.forEach((m) => everyone.add(m));
        if (typeof req.min === 'number' && req.min > members.length) {
          problems.push({ path: [...path, 'require', i, 'min'], message: `needs ${req.min} but group "${req.group}" has ${members.length} members` });
        }
      });
      const total = outcome.require.reduce((n: number, r) => n + (isRecord(r) && typeof r.min === 'number' ? r.min : 0), 0);
      // Only when each group alone could be satisfied: otherwise that group's problem says it already.
      if (problems.length === before && everyone.size > 0 && total > everyone.size) {
        problems.push({ path: [...path, 'require'], message: `needs ${total} distinct approvers but the groups have ${everyone.size}` });
      }
      continue;
    }
    if (outcome.approvers === undefined) {
      problems.push({ path: [...path, 'approvers'], message: 'require_approval needs at least one approver group (approvers or require)' });
      continue;
    }
    if (!Array.isArray(outcome.approvers)) continue;
    const members = new Set<string>();
    let complete = true;
    outcome.approvers.forEach((group, i) => {
      if (typeof group !== 'string') return;
      const found = groups[group];
      if (found === undefined) {
        complete = false;
        problems.push({ path: [...path, 'approvers', i], message: `unknown group "${group}"` });
      } else if (isRecord(found) && Array.isArray(found.members)) {
        for (const m of found.members) if (isRecord(m) && typeof m.id === 'string') members.add(personKey(m.id));
      }
    });
    const configuredAny = isRecord(document.channels) && CHANNELS.some((c) => (document.channels as Record<string, unknown>)[c] !== undefined);
    if (outcome.channels === undefined && !configuredAny) {
      problems.push({ path: [...path, 'effect'], message: 'require_approval needs a channel to ask approvers on: configure channels.email, slack or teams' });
    }
    if (Array.isArray(outcome.channels)) {
      const configured = isRecord(document.channels) ? document.channels : {};
      outcome.channels.forEach((channel, i) => {
        if (typeof channel === 'string' && (CHANNELS as readonly string[]).includes(channel) && configured[channel] === undefined) {
          problems.push({ path: [...path, 'channels', i], message: `channel "${channel}" is not configured under channels` });
        }
      });
    }
    if (outcome.requireSignIn === true && !(isRecord(document.auth) && document.auth.oidc !== undefined)) {
      problems.push({ path: [...path, 'requireSignIn'], message: 'needs auth.oidc to be configured' });
    }
    const needed = typeof outcome.minApprovals === 'number' ? outcome.minApprovals : 1;
    if (complete && members.size > 0 && needed > members.size) {
      problems.push({ path: [...path, 'minApprovals'], message: `needs ${needed} distinct approvers but the groups have ${members.size}` });
    }
  }
  return problems;
}

/** A member id as the person it names, for counting people; text that is no identity is reported by the schema. */
function personKey(raw: string): string {
  try {
    return parsePrincipal(raw).party;
  } catch {
    return raw;
  }
}

/**
 * One person, one spelling: two member entries that share an alias (id, email or Slack user id, compared in canonical
 * form) must be the same id written the same way, or the same person could count twice towards a quorum, or vote on a
 * request made under another of their names. Each problem names both places.
 */
function samePersonProblems(document: Record<string, unknown>): CrossFieldProblem[] {
  const problems: CrossFieldProblem[] = [];
  const seen = new Map<string, { place: string; rawId: string; id: string }>();
  const groups = isRecord(document.groups) ? document.groups : {};
  for (const [group, value] of Object.entries(groups)) {
    const members = isRecord(value) && Array.isArray(value.members) ? value.members : [];
    members.forEach((member, index) => {
      if (!isRecord(member) || typeof member.id !== 'string') return;
      const path = ['groups', group, 'members', index];
      const place = path.join('.');
      let id: string;
      const aliases: Array<{ field: string; key: string }> = [];
      try {
        id = parsePrincipal(member.id).party;
        aliases.push({ field: 'id', key: id });
        if (typeof member.email === 'string') aliases.push({ field: 'email', key: parsePrincipal(member.email).party });
      } catch (err) {
        if (err instanceof IdentityError) return; // the schema names the bad identity
        throw err;
      }
      if (typeof member.slackUserId === 'string') aliases.push({ field: 'slackUserId', key: member.slackUserId.trim().toLowerCase() });
      for (const { field, key } of aliases) {
        const first = seen.get(key);
        if (!first) {
          seen.set(key, { place, rawId: member.id, id });
          continue;
        }
        if (first.id === id && first.rawId === member.id) continue; // the same person listed again, spelled alike
        const how = first.id === id ? `spelled ${JSON.stringify(first.rawId)} there` : `whose id is ${JSON.stringify(first.rawId)}`;
        problems.push({
          path: [...path, field],
          message: `is the same person as ${first.place} (${how}): write one id, spelled one way, for one person`,
        });
        break;
      }
    });
  }
  return problems;
}

/** The config schema with every check, for values that must already be a valid config (e.g. the functions' copy). */
export const configSchema = documentSchema.check(
  z.superRefine((config, ctx) => {
    for (const problem of crossFieldProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
  }),
);

export type Config = z.infer<typeof configSchema>;
export type Rule = Config['rules'][number];
export type PolicyOutcome = Config['default'];

export interface ConfigProblem {
  /** Dotted path of the bad field, e.g. `rules.1.timeout`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`Invalid config ${source}:\n${problems.map((p) => `  - ${p.path || '(file)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Secrets a deployment to AWS could never read: `env:NAME` names a variable that only local mode (and tests) set, so
 * deployed functions would fail at run time with "secret env:NAME is not set". One problem per field, saying what
 * to write instead.
 */
export function localOnlySecrets(config: Pick<Config, 'channels' | 'auth'>): ConfigProblem[] {
  return secretRefs(config)
    .filter(([, ref]) => ref.startsWith('env:'))
    .map(([path, ref]) => ({
      path,
      message:
        `${ref} is read from the environment, which only local mode sets: deployed, it fails with "secret ${ref} is not set". ` +
        'Store the secret in AWS Secrets Manager and write its ARN here (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)',
    }));
}

/** Every secret reference the config holds, with the path of its field: the only fields that name secrets. */
export function secretRefs(config: Pick<Config, 'channels' | 'auth'>): Array<[path: string, ref: string]> {
  const refs: Array<[string, string | undefined]> = [
    ['channels.slack.botToken', config.channels.slack?.botToken],
    ['channels.slack.signingSecret', config.channels.slack?.signingSecret],
    ['channels.teams.webhookUrl', config.channels.teams?.webhookUrl],
    ['auth.oidc.clientSecret', config.auth.oidc?.clientSecret],
  ];
  return refs.filter((entry): entry is [string, string] => entry[1] !== undefined);
}

/** Throws ConfigError naming every secret a deployment to AWS could not read (see `localOnlySecrets`). */
export function assertDeployableSecrets(config: Pick<Config, 'channels' | 'auth'>, source: string): void {
  const problems = localOnlySecrets(config);
  if (problems.length > 0) throw new ConfigError(`${source} for a deployment to AWS`, problems);
}

/** Validates the config file's parsed document (see ./config-yaml.ts); throws ConfigError naming every bad field. */
export function configFromDocument(document: unknown, source = 'config'): Config {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, [{ path: '', message: 'expected a YAML mapping with at least `version: 1`' }]);
  }
  const result = documentSchema.safeParse(document);
  const problems: ConfigProblem[] = (result.success ? [] : result.error.issues).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : issue.code === 'invalid_key'
          ? (issue.issues[0]?.message ?? issue.message)
          : issue.message,
  }));
  for (const problem of crossFieldProblems(document)) {
    const path = problem.path.map(String).join('.');
    // A field the schema already rejected is not reported twice.
    if (!problems.some((p) => p.path === path)) problems.push({ path, message: problem.message });
  }
  if (!result.success || problems.length > 0) throw new ConfigError(source, problems);
  return result.data;
}

/** Timeout of an outcome in seconds (the config default when unset). */
export function timeoutSeconds(outcome: PolicyOutcome): number {
  return parseDuration(outcome.timeout ?? DEFAULT_TIMEOUT) ?? 3600;
}

/** The channels a decided outcome asks approvers on: its own list, or every configured channel. */
export function channelsFor(config: Pick<Config, 'channels'>, outcome: PolicyOutcome): Channel[] {
  return outcome.channels ?? CHANNELS.filter((c) => config.channels[c] !== undefined);
}

/**
 * The config as the stack ships it inside the functions, and as a decision's policy version is computed: everything
 * but the local API keys, which exist only on a laptop, and `operations`, which only the stack reads (its alarms'
 * subscribers): changing who is paged is no change of policy, and no function needs the addresses.
 */
export function shippedConfig(config: Config): Omit<Config, 'local' | 'operations'> {
  const { local: _local, operations: _operations, ...shipped } = config;
  return shipped;
}

/** The addresses the stack's alarms email (`operations.alarmEmail`), each once (compared without regard to case). */
export function alarmEmails(config: Pick<Config, 'operations'>): string[] {
  const seen = new Set<string>();
  return [config.operations?.alarmEmail ?? []].flat().filter((address) => {
    const key = address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
