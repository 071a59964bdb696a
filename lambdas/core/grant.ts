/**
 * Grants: an approval that covers more than one call. A rule with `grant: {maxFor, scope}` lets its approvers approve
 * a request "for" a while (every approving vote must ask for it, so a quorum rule needs its full quorum); the
 * `approved` record then carries the grant. While it holds, a later request that policy sends to the same rule,
 * unchanged, with the same values in every scoped field, is approved at once, its records naming the grant.
 *
 * The ledger is the grant's only truth: the granting request's chain holds it (`approved`) and its revocation
 * (`grant_revoked`). The requests table only indexes grants by scope so intake finds candidates without a scan; each
 * candidate is confirmed on its chain. A grant never widens past its rule: it is bound to the rule's digest (its
 * text and the people its groups name), so any change to the rule or its approvers ends it.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { identityKey } from './identity';
import { canonicalText } from './text';
import * as z from './zod';

/** The request fields a grant may pin. `requester` is always among them: a grant is for one requester. */
export const GRANT_SCOPE_FIELDS = ['action', 'resource', 'environment', 'requester', 'onBehalfOf', 'agent'] as const;
export const grantScopeFieldSchema = z.enum(GRANT_SCOPE_FIELDS, { error: `expected one of ${GRANT_SCOPE_FIELDS.join(', ')}` });
export type GrantScopeField = z.infer<typeof grantScopeFieldSchema>;

/** The longest grant a rule may allow. A grant is standing permission: a month is already long. */
export const MAX_GRANT_SECONDS = 30 * 86_400;
/** The shortest grant, in a rule's `maxFor` and in a vote's `for`: a grant of seconds is no grant anyone means. */
export const MIN_GRANT_SECONDS = 60;

/** The requests table's sparse index of grants: partition the scope key, sort the time the grant lapses. */
export const GRANT_INDEX = 'grants';
/** The requests table's TTL attribute: only grant items carry it (seconds since the epoch). */
export const GRANT_TTL_ATTRIBUTE = 'grantExpiresAt';

/** Grant ids name their granting request: `grt_` and the request id's own part. */
export const GRANT_ID_PATTERN = /^grt_[A-Za-z0-9_-]{1,64}$/;

export const grantIdOf = (requestId: string): string => `grt_${requestId.replace(/^act_/, '')}`;
export const requestIdOfGrant = (grantId: string): string => `act_${grantId.replace(/^grt_/, '')}`;

/** What a rule offers, as its `policy_decided` record keeps it: the longest grant, what it pins, and the rule's digest. */
export const grantOfferSchema = z.object({
  maxForSeconds: z.int(),
  scope: z.array(grantScopeFieldSchema),
  ruleDigest: z.string(),
});
export type GrantOffer = z.infer<typeof grantOfferSchema>;

/** The scoped fields' canonical values; null for a field the request left out (which must stay out). */
export const grantScopeValuesSchema = z.partialRecord(grantScopeFieldSchema, z.nullable(z.string()));
export type GrantScopeValues = z.infer<typeof grantScopeValuesSchema>;

/** A grant as the granting `approved` record holds it. */
export const grantSchema = z.object({
  id: z.string(),
  rule: z.string(),
  ruleDigest: z.string(),
  scope: grantScopeValuesSchema,
  /** When it lapses (ISO). */
  until: z.string(),
  /** Who granted it: the approving voters. */
  approvers: z.array(z.string()),
});
export type Grant = z.infer<typeof grantSchema>;

/** `grant_revoked`: who ended a grant early, and why. */
export const grantRevokedDataSchema = z.object({ grant: z.string(), revokedBy: z.string(), reason: z.string() });
export type GrantRevokedData = z.infer<typeof grantRevokedDataSchema>;

/** A request approved by a grant names it in its `policy_decided` record: the grant, its request, and the votes that made it. */
export const grantUseSchema = z.object({
  grant: z.string(),
  request: z.string(),
  until: z.string(),
  approvers: z.array(z.string()),
});
export type GrantUse = z.infer<typeof grantUseSchema>;

/** What a grant's scope reads of a request. */
export interface ScopedRequest {
  readonly requester: string;
  readonly action: string;
  readonly resource?: string | undefined;
  readonly environment?: string | undefined;
  readonly onBehalfOf?: string | undefined;
  readonly agent?: { readonly name?: string | undefined } | undefined;
}

/**
 * The canonical value of each scoped field: text in policy's canonical form; people by their party (a role for every
 * session of it, since a session's name is the caller's to choose).
 */
export function grantScopeValues(fields: readonly GrantScopeField[], request: ScopedRequest): GrantScopeValues {
  const out: Record<string, string | null> = {};
  for (const field of [...new Set<GrantScopeField>([...fields, 'requester'])].sort()) {
    const raw = field === 'agent' ? request.agent?.name : request[field];
    out[field] = raw === undefined ? null : field === 'requester' || field === 'onBehalfOf' ? identityKey(raw) : canonicalText(raw);
  }
  return out;
}

const sha256 = (value: unknown) => createHash('sha256').update(canonicalize(value)!, 'utf8').digest('hex');

/**
 * A rule's digest: its whole text and the member ids its approvals can come from. Any edit of the rule, or a change
 * of who may approve it, gives another digest and so ends the rule's grants.
 */
export function ruleDigest(rule: object, approvers: readonly string[]): string {
  return sha256({ rule, approvers: [...new Set(approvers)].sort() });
}

/** The key grants are indexed and found by: the rule, its digest, and the scoped values. */
export function grantScopeKey(rule: string, digest: string, scope: GrantScopeValues): string {
  return sha256({ rule, digest, scope });
}

/**
 * The grant the approving votes make, if they all asked for one: it lasts the shortest time any of them asked for
 * (each within the rule's `maxFor`), from the vote that completed the approval.
 */
export function grantFromVotes(
  offer: GrantOffer,
  rule: string,
  requestId: string,
  request: ScopedRequest,
  approving: ReadonlyArray<{ readonly approver: string; readonly forSeconds?: number | undefined; readonly at: string }>,
): Grant | undefined {
  if (approving.length === 0 || approving.some((v) => v.forSeconds === undefined)) return undefined;
  const seconds = Math.min(offer.maxForSeconds, ...approving.map((v) => v.forSeconds!));
  const from = Math.max(...approving.map((v) => Date.parse(v.at)));
  return {
    id: grantIdOf(requestId),
    rule,
    ruleDigest: offer.ruleDigest,
    scope: grantScopeValues(offer.scope, request),
    until: new Date(from + seconds * 1000).toISOString(),
    approvers: approving.map((v) => v.approver),
  };
}

/** `ended`: the policy changed or dropped the grant's rule, which ends it (only said when the current offer is given). */
export const grantStatusSchema = z.enum(['active', 'revoked', 'expired', 'ended']);
export type GrantStatus = z.infer<typeof grantStatusSchema>;

/** A grant as the API answers it (docs/api.md "Grants"): `GET /v1/grants`, `POST /v1/grants/{id}/revoke`. */
export const grantViewSchema = z.object({
  id: z.string(),
  status: grantStatusSchema,
  rule: z.string(),
  /** The request whose approval made it. */
  requestId: z.string(),
  scope: grantScopeValuesSchema,
  approvers: z.array(z.string()),
  grantedAt: z.string(),
  until: z.string(),
  revokedAt: z.optional(z.string()),
  revokedBy: z.optional(z.string()),
  revokeReason: z.optional(z.string()),
});
export type GrantView = z.infer<typeof grantViewSchema>;

/** A grant's status at `now`; with `current`, the rule's offer in the loaded policy (undefined: the rule grants no more). */
export function grantStatus(
  grant: Pick<Grant, 'until' | 'ruleDigest'>,
  revoked: boolean,
  now: Date,
  current?: { readonly offer: GrantOffer | undefined },
): GrantStatus {
  if (revoked) return 'revoked';
  if (now.getTime() >= Date.parse(grant.until)) return 'expired';
  if (current && current.offer?.ruleDigest !== grant.ruleDigest) return 'ended';
  return 'active';
}

/**
 * Why `grant` does not cover a request policy sent to `rule` (with that rule's current `offer`), or undefined when it
 * does: it must be active, for the same rule unchanged, and every scoped value the same.
 */
export function grantMismatch(
  grant: Grant,
  revoked: boolean,
  now: Date,
  rule: string,
  offer: GrantOffer | undefined,
  request: ScopedRequest,
): string | undefined {
  const status = grantStatus(grant, revoked, now);
  if (status !== 'active') return `the grant is ${status}`;
  if (!offer || grant.rule !== rule) return `the grant is for rule ${grant.rule}, and policy sends this request to ${rule}`;
  if (grant.ruleDigest !== offer.ruleDigest) return `rule ${rule} changed since the grant`;
  const fields = Object.keys(grant.scope) as GrantScopeField[];
  const values = grantScopeValues(fields, request);
  const differs = fields.find((field) => values[field] !== grant.scope[field]);
  return differs ? `${differs} is not the grant's` : undefined;
}

/** "90 minutes", "8 hours", "2 days": a grant's length in exact words (spanWords rounds, which a choice must not). */
export function grantLengthWords(seconds: number): string {
  const [n, unit] =
    seconds % 86_400 === 0 && seconds >= 2 * 86_400
      ? [seconds / 86_400, 'day']
      : seconds % 3600 === 0
        ? [seconds / 3600, 'hour']
        : seconds % 60 === 0
          ? [seconds / 60, 'minute']
          : [seconds, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** A duration as the config and the vote's `for` write it: `90m`, `8h`, `2d`. */
export function grantLengthText(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** The lengths surfaces offer besides "this call only", when the rule's maxFor allows them. */
const OFFERED_LENGTHS = [3600, 8 * 3600, 86_400, 7 * 86_400];

/** A grant length an approver can pick: the vote's `for` and its words. */
export interface GrantChoice {
  readonly for: string;
  readonly seconds: number;
  readonly words: string;
}

/** What every surface offers for a rule's `maxFor`: 1 hour, 8 hours, 1 day, 7 days below it, and maxFor itself. */
export function grantChoices(maxForSeconds: number): GrantChoice[] {
  return [...OFFERED_LENGTHS.filter((s) => s < maxForSeconds), maxForSeconds].map((seconds) => ({
    for: grantLengthText(seconds),
    seconds,
    words: grantLengthWords(seconds),
  }));
}

/** "action, resource and requester". */
function fieldList(fields: readonly string[]): string {
  return fields.length <= 1 ? (fields[0] ?? '') : `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}`;
}

/**
 * What a rule's grant offer lets an approver do, in Countersign's own words (channels that cannot vote for a while
 * themselves say it, pointing at the review page): the longest grant, and what it approves without asking.
 */
export function grantOfferWords(offer: Pick<GrantOffer, 'maxForSeconds' | 'scope'>): string {
  return `On the review page you may approve for a while, up to ${grantLengthWords(offer.maxForSeconds)}, instead of this call only: later requests from the same requester that this rule decides, with the same ${fieldList(
    offer.scope,
  )}, are then approved without asking until that time has passed (an approver of the rule or an auditor can revoke it).`;
}
