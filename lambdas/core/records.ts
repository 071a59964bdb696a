/**
 * What each ledger record means: its type and the schema of its `data`, in one place (docs/api.md "Audit"). The
 * use cases write records through these types, `deriveState` reads them back, and `countersign audit` tells them.
 * The envelope (hash chain, signature) is core/ledger-record.ts's.
 */
import { channelSchema, durationSchema, effectSchema } from './config';
import { grantOfferSchema, grantRevokedDataSchema, grantSchema, grantUseSchema } from './grant';
import { decidedBySchema, decisionSchema, storedRequestSchema } from './request';
import * as z from './zod';

export const AUDIT_TYPES = [
  'requested',
  'policy_decided',
  'notified',
  'reminded',
  'escalated',
  'voted',
  'approved',
  'denied',
  'expired',
  'cancelled',
  'executed',
  'grant_revoked',
] as const;
export const auditTypeSchema = z.enum(AUDIT_TYPES);
export type AuditType = z.infer<typeof auditTypeSchema>;

/** The record types that settle a request; the first one in a chain is its outcome. */
export const OUTCOME_TYPES = ['approved', 'denied', 'expired', 'cancelled'] as const;
export type OutcomeType = (typeof OUTCOME_TYPES)[number];

/** Longest reason an approver may give, in characters (the review page's textarea uses the same). */
export const REASON_MAX_LENGTH = 1000;

/** A vote as an approver casts it, on any channel. */
export const voteSchema = z.strictObject({
  decision: decisionSchema,
  reason: z.optional(z.string().check(z.trim(), z.maxLength(REASON_MAX_LENGTH))),
  /** Approve for a while (a grant), where the rule allows it: up to its `grant.maxFor`. Absent: this call only. */
  for: z.optional(durationSchema),
});
export type VoteInput = z.infer<typeof voteSchema>;

/** `requested`: what the agent asked, and who asked. */
export const requestedDataSchema = z.object({
  request: storedRequestSchema,
  requester: z.string(),
  /**
   * Commitment (core/commitment.ts: HMAC-SHA256 under the request's secret salt) to the canonical request body: an
   * Idempotency-Key reused with another body is refused. Records written before commitments hold `bodySha256`.
   */
  bodyCommitment: z.optional(z.string()),
  bodySha256: z.optional(z.string()),
  /** Commitment to the canonical unmasked parameters: receipts bind the exact payload, though the ledger keeps it masked. */
  parametersCommitment: z.optional(z.string()),
  parametersSha256: z.optional(z.string()),
  /** What was masked in `request`, and why. */
  masked: z.optional(z.array(z.object({ path: z.string(), reason: z.string() }))),
});
export type RequestedData = z.infer<typeof requestedDataSchema>;

/** A quorum requirement as recorded: distinct approvals from the group's members (one person fills one). */
export const requirementSchema = z.object({ group: z.string(), min: z.int(), members: z.array(z.string()) });
export type Requirement = z.infer<typeof requirementSchema>;

/**
 * A shadow rule (`mode: shadow`) reached before the deciding rule, whose match held: the outcome it would have had,
 * had it been enforced. Not judged: some of its conditions could not be judged (`notJudged`, their paths), so
 * enforced it would have refused the request (400); a shadow rule never refuses.
 */
export const shadowResultSchema = z.union([
  z.object({
    rule: z.string(),
    effect: effectSchema,
    reason: z.optional(z.string()),
    /** For `require_approval`: distinct approvals needed, and from whom (member ids). */
    requiredApprovals: z.optional(z.int()),
    approverIds: z.optional(z.array(z.string())),
  }),
  z.object({ rule: z.string(), notJudged: z.array(z.string()) }),
]);
export type ShadowResult = z.infer<typeof shadowResultSchema>;

/** `policy_decided`: the rule that matched and what it asks. */
export const policyDecidedDataSchema = z.object({
  rule: z.string(),
  effect: z.enum(['allow', 'deny', 'require_approval']),
  reason: z.optional(z.string()),
  requiredApprovals: z.int(),
  approvers: z.array(z.string()),
  timeoutSeconds: z.optional(z.int()),
  expiresAt: z.optional(z.string()),
  /** Where the approvers are asked. */
  channels: z.optional(z.array(channelSchema)),
  /** Personal review links also need OIDC sign-in. */
  requireSignIn: z.optional(z.boolean()),
  /** Quorum across teams: distinct approvals from each group's members (one person fills one requirement). */
  require: z.optional(z.array(requirementSchema)),
  /** SHA-256 of the policy that decided (the canonical JSON of the loaded config). */
  policyVersion: z.optional(z.string()),
  /** Reminders to approvers who have not voted, every this many seconds. */
  remindAfterSeconds: z.optional(z.int()),
  /** After this many seconds, `escalateTo` (member ids) become approvers too. */
  escalateAfterSeconds: z.optional(z.int()),
  escalateTo: z.optional(z.array(z.string())),
  /** The rule lets approvers grant: for how long at most, what a grant pins, and the rule's digest. */
  grant: z.optional(grantOfferSchema),
  /** Approved at once by this grant (another request's approval, for a while). */
  grantedBy: z.optional(grantUseSchema),
  /** The shadow rules reached before the deciding rule that matched or could not be judged, in rule order; absent when none. */
  shadow: z.optional(z.array(shadowResultSchema)),
  /** An approval not redeemed within this many seconds of the `approved` record lapses (`expired`, `not redeemed`). */
  redeemWithinSeconds: z.optional(z.int()),
});
export type PolicyDecidedData = z.infer<typeof policyDecidedDataSchema>;

/** Per channel, who was sent the message and who could not be (the error's kind and message only). */
export const channelReportSchema = z.object({
  sent: z._default(z.array(z.string()), []),
  failed: z._default(z.array(z.object({ to: z.string(), error: z.string() })), []),
});
export type ChannelReport = z.infer<typeof channelReportSchema>;
export const channelReportsSchema = z.partialRecord(channelSchema, channelReportSchema);
export type ChannelReports = z.infer<typeof channelReportsSchema>;

/** `notified` (the first ask) and `reminded`: the approvers asked and, per channel, what was sent. */
export const notifiedDataSchema = z.object({ channels: channelReportsSchema, approvers: z.array(z.string()) });
export type NotifiedData = z.infer<typeof notifiedDataSchema>;

/** `escalated`: who became an approver. */
export const escalatedDataSchema = z.object({ approvers: z.array(z.string()) });

/** `voted`: one approver's vote. */
export const votedDataSchema = z.object({
  approver: z.string(),
  decision: decisionSchema,
  reason: z.optional(z.string()),
  /** The approver approved for this long (a grant), not this call only. */
  forSeconds: z.optional(z.int()),
});

/** `approved`, `denied`, `expired`, `cancelled`: who or what settled it, and why. */
export const outcomeDataSchema = z.object({
  decidedBy: decidedBySchema,
  reason: z.optional(z.string()),
  approvers: z.optional(z.array(z.string())),
  /** `approved` by votes that all asked for a while: the grant it makes. */
  grant: z.optional(grantSchema),
});
export type OutcomeData = z.infer<typeof outcomeDataSchema>;

/**
 * `executed`: the requester redeemed the approval's receipt (`POST /v1/actions/{id}/redeem`), once: the executor says
 * it runs the action now. Written after the outcome, at most once per request (`decideRedemption` in core/approval.ts).
 */
export const executedDataSchema = z.object({
  /** Who redeemed: the caller, canonical (the requester, or another session of the requesting role). */
  redeemer: z.string(),
  /** This redemption's own random id: a decide that finds it in the chain knows the record is its own. */
  redemptionId: z.string(),
  /** Hex SHA-256 of the compact receipt that was redeemed (the receipt itself holds the requester's salt). */
  receiptSha256: z.string(),
  /** The receipt's commitment to the parameters (`paramsHmac`, or `paramsSha256` for old receipts). */
  parametersCommitment: z.string(),
});
export type ExecutedData = z.infer<typeof executedDataSchema>;

/** Each record type's `data`, as written and as read back. */
export const recordDataSchemas = {
  requested: requestedDataSchema,
  policy_decided: policyDecidedDataSchema,
  notified: notifiedDataSchema,
  reminded: notifiedDataSchema,
  escalated: escalatedDataSchema,
  voted: votedDataSchema,
  approved: outcomeDataSchema,
  denied: outcomeDataSchema,
  expired: outcomeDataSchema,
  cancelled: outcomeDataSchema,
  executed: executedDataSchema,
  grant_revoked: grantRevokedDataSchema,
} as const satisfies Record<AuditType, z.ZodMiniType>;

export type RecordData<T extends AuditType> = z.infer<(typeof recordDataSchemas)[T]>;

/** A record to append, typed by its kind: the ledger adds the chain fields. */
export function recordEvent<T extends AuditType>(type: T, actor: string, data: RecordData<T>): { type: T; actor: string; data: Record<string, unknown> } {
  return { type, actor, data: data as Record<string, unknown> };
}
