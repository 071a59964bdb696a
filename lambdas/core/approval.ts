/**
 * The approval state of a request, derived from its audit chain alone, and the rules that decide what may be
 * appended next. The chain is the source of truth: every vote and the one outcome are records in it, and appends are
 * serialized per request by the ledger, so "derive, check, append" cannot double-count or settle twice.
 */

import { spanWords } from './dates';
import { parseDuration } from './duration';
import { CountersignError } from './errors';
import { type Grant, type GrantOffer, grantFromVotes, grantRevokedDataSchema, grantScopeValues, MIN_GRANT_SECONDS } from './grant';
import { type IdentityDirectory, identityKey } from './identity';
import type { AuditEvent, AuditRecord } from './ledger-record';
import { MASK_MARKER } from './masking';
import { quorumGaps } from './quorum';
import type { ReceiptClaims } from './receipt';
import {
  escalatedDataSchema,
  executedDataSchema,
  type OutcomeType,
  outcomeDataSchema,
  type PolicyDecidedData,
  policyDecidedDataSchema,
  recordEvent,
  requestedDataSchema,
  type VoteInput,
  votedDataSchema,
} from './records';
import type { ActionView, actionRequestSchema, Decision, decidedBySchema, RequestStatus } from './request';
import type { WorkflowWait } from './workflow';
import * as z from './zod';

export interface Vote {
  readonly approver: string;
  readonly decision: Decision;
  readonly reason?: string;
  /** Approved for this long (a grant), not this call only. */
  readonly forSeconds?: number;
  readonly at: string;
}

/** A digest in a `requested` record: a commitment under the request's salt, or, in records before them, a SHA-256. */
export interface RecordedDigest {
  readonly kind: 'commitment' | 'sha256';
  readonly value: string;
}

const digestOf = (commitmentValue: string | undefined, sha256: string | undefined): RecordedDigest | undefined =>
  commitmentValue !== undefined ? { kind: 'commitment', value: commitmentValue } : sha256 !== undefined ? { kind: 'sha256', value: sha256 } : undefined;

export interface ApprovalState {
  readonly id: string;
  readonly requester: string;
  readonly request: z.infer<typeof actionRequestSchema>;
  /** What the ledger binds the body and the unmasked parameters by (a salted commitment; a plain hash in old records). */
  readonly body: RecordedDigest;
  readonly parameters?: RecordedDigest;
  readonly createdAt: string;
  readonly policy?: PolicyDecidedData;
  readonly votes: readonly Vote[];
  readonly notified: boolean;
  /** When approvers were last reminded (ISO), if ever. */
  readonly remindedAt?: string;
  /** Approvers added by escalation. */
  readonly escalatedTo?: readonly string[];
  readonly outcome?: { readonly status: OutcomeType; readonly decidedBy: z.infer<typeof decidedBySchema>; readonly reason?: string; readonly at: string };
  /** The approval's one redemption (the first `executed` record), once the executor redeemed its receipt. */
  readonly redemption?: Redemption;
  /** The grant the approval made (its `approved` record), if the approving votes asked for one. */
  readonly grant?: Grant;
  /** The grant's revocation, once revoked. */
  readonly grantRevoked?: { readonly by: string; readonly reason: string; readonly at: string };
  /** When an approval lapsed unredeemed: the `expired` record after `approved` (`decideLapse`). */
  readonly lapse?: { readonly at: string; readonly reason: string };
}

/** A redemption as the chain records it: when, by whom, and which receipt. */
export interface Redemption {
  readonly id: string;
  readonly at: string;
  readonly by: string;
  readonly receiptSha256: string;
  readonly parametersCommitment: string;
}

/** The state the chain records; undefined for an empty chain. */
export function deriveState(chain: readonly AuditRecord[]): ApprovalState | undefined {
  const first = chain[0];
  if (first?.type !== 'requested') return undefined;
  const requested = z.parse(requestedDataSchema, first.data);
  let policy: PolicyDecidedData | undefined;
  const votes: Vote[] = [];
  let notified = false;
  let remindedAt: string | undefined;
  let escalatedTo: string[] | undefined;
  let outcome: ApprovalState['outcome'];
  let redemption: Redemption | undefined;
  let grant: Grant | undefined;
  let grantRevoked: ApprovalState['grantRevoked'];
  let lapse: ApprovalState['lapse'];
  for (const record of chain.slice(1)) {
    switch (record.type) {
      case 'policy_decided':
        policy = z.parse(policyDecidedDataSchema, record.data);
        break;
      case 'notified':
        notified = true;
        break;
      case 'reminded':
        remindedAt = record.at;
        break;
      case 'escalated':
        escalatedTo = z.parse(escalatedDataSchema, record.data).approvers;
        break;
      case 'voted': {
        const data = z.parse(votedDataSchema, record.data);
        votes.push({ ...data, at: record.at });
        break;
      }
      case 'approved':
      case 'denied':
      case 'expired':
      case 'cancelled': {
        // An `expired` after `approved` is the approval lapsing unredeemed (`decideLapse`), not a second outcome.
        if (record.type === 'expired' && outcome?.status === 'approved' && !redemption && !lapse) {
          lapse = { at: record.at, reason: z.parse(outcomeDataSchema, record.data).reason ?? LAPSE_REASON };
          break;
        }
        if (outcome) break; // the first outcome wins; appends never write a second
        const data = z.parse(outcomeDataSchema, record.data);
        outcome = { status: record.type, decidedBy: data.decidedBy, ...(data.reason ? { reason: data.reason } : {}), at: record.at };
        if (record.type === 'approved' && data.grant) grant = data.grant;
        break;
      }
      case 'grant_revoked': {
        if (grantRevoked) break; // the first revocation stands; appends never write a second
        const data = z.parse(grantRevokedDataSchema, record.data);
        grantRevoked = { by: data.revokedBy, reason: data.reason, at: record.at };
        break;
      }
      case 'executed': {
        if (redemption || lapse) break; // the first redemption wins; appends never write a second, nor one after a lapse
        const data = z.parse(executedDataSchema, record.data);
        redemption = {
          id: data.redemptionId,
          at: record.at,
          by: data.redeemer,
          receiptSha256: data.receiptSha256,
          parametersCommitment: data.parametersCommitment,
        };
        break;
      }
      default:
        break;
    }
  }
  return {
    id: first.requestId,
    requester: requested.requester,
    request: requested.request,
    body: digestOf(requested.bodyCommitment, requested.bodySha256) ?? { kind: 'commitment', value: '' },
    ...(digestOf(requested.parametersCommitment, requested.parametersSha256)
      ? { parameters: digestOf(requested.parametersCommitment, requested.parametersSha256)! }
      : {}),
    createdAt: first.at,
    ...(policy ? { policy } : {}),
    votes,
    notified,
    ...(remindedAt ? { remindedAt } : {}),
    ...(escalatedTo ? { escalatedTo } : {}),
    ...(outcome ? { outcome } : {}),
    ...(redemption ? { redemption } : {}),
    ...(grant ? { grant } : {}),
    ...(grantRevoked ? { grantRevoked } : {}),
    ...(lapse ? { lapse } : {}),
  };
}

/** Everyone who may vote: the rule's approvers and, after an escalation, the escalation's. */
export function allApprovers(state: ApprovalState): string[] {
  return [...new Set([...(state.policy?.approvers ?? []), ...(state.escalatedTo ?? [])])];
}

/** The request's status: its outcome's, except that an approval that lapsed unredeemed reads `expired`. */
export function statusOf(state: ApprovalState): RequestStatus {
  return state.lapse ? 'expired' : (state.outcome?.status ?? 'pending');
}

/** The reason of the `expired` record an approval that lapsed unredeemed gets. */
export const LAPSE_REASON = 'not redeemed';

/**
 * When an approval lapses unless redeemed first: its `approved` record's time plus the rule's `redeemWithin`.
 * Undefined for anything but an approval under such a rule.
 */
export function redeemDeadline(state: ApprovalState): Date | undefined {
  const seconds = state.policy?.redeemWithinSeconds;
  if (seconds === undefined || state.outcome?.status !== 'approved') return undefined;
  return new Date(Date.parse(state.outcome.at) + seconds * 1000);
}

/**
 * What the redeem window's end still has to append: `expired` (reason `not redeemed`) once the deadline has come,
 * unless the approval was redeemed first. Pure in the chain: a lapse and a redemption race on the chain's next seq,
 * and whichever loses decides again on the winner's record, so the chain holds exactly one of `executed` or the lapse.
 */
export function decideLapse(chain: readonly AuditRecord[], now: Date): AuditEvent[] {
  const state = deriveState(chain);
  const deadline = state && redeemDeadline(state);
  if (!state || !deadline || state.redemption || state.lapse || now.getTime() < deadline.getTime()) return [];
  return [recordEvent('expired', 'countersign', { decidedBy: 'timeout', reason: LAPSE_REASON })];
}

/** Whether `principal` is one of the request's approvers (any alias, any spelling; a role for every session of it). */
export function isApprover(state: ApprovalState, principal: string, directory: IdentityDirectory): boolean {
  return directory.isAnyOf(principal, allApprovers(state));
}

/** Whether `principal` asked for the request (any session of a requesting role): the receipt is theirs alone. */
export function isRequester(state: ApprovalState, principal: string, directory: IdentityDirectory): boolean {
  return directory.samePerson(principal, state.requester);
}

/** Who may read a request: its requester, its approvers and the auditors. */
export function canRead(state: ApprovalState, principal: string, directory: IdentityDirectory): boolean {
  return isRequester(state, principal, directory) || isApprover(state, principal, directory) || directory.isAuditor(principal);
}

/**
 * The people a request must never ask: its requester and the human the agent acts for, under any of their aliases,
 * and, when the requester is a role session, every session of that role (and the person an email-named session names).
 */
export function isSelf(state: ApprovalState, principal: string, directory: IdentityDirectory): boolean {
  return directory.isOneOf(principal, [state.requester, state.request.onBehalfOf]);
}

/** The approvers to ask: the rule's approvers less the requester and onBehalfOf. */
export function approversToAsk(state: ApprovalState, directory: IdentityDirectory): string[] {
  return allApprovers(state).filter((a) => !isSelf(state, a, directory));
}

/** The distinct people who approved (votes are recorded under canonical member ids). */
function approvers(state: ApprovalState): string[] {
  return [...new Set(state.votes.filter((v) => v.decision === 'approve').map((v) => identityKey(v.approver)))];
}

/** What a pending request still needs, in words: `1 more from security`. */
export function stillMissing(state: ApprovalState): string[] {
  if (state.outcome || !state.policy) return [];
  return quorumGaps(state.policy, approvers(state), state.escalatedTo ?? []);
}

/** The outcome the votes settle, once settled: one deny denies; `requiredApprovals` distinct approvals approve. */
function settledByVotes(state: ApprovalState): AuditEvent | undefined {
  if (state.outcome || !state.policy) return undefined;
  const deny = state.votes.find((v) => v.decision === 'deny');
  if (deny) return recordEvent('denied', deny.approver, { decidedBy: 'approvers', ...(deny.reason ? { reason: deny.reason } : {}) });
  if (quorumGaps(state.policy, approvers(state), state.escalatedTo ?? []).length === 0) {
    const approving = state.votes.filter((v) => v.decision === 'approve');
    // A grant only when every approving vote asked for one: a quorum rule needs its full quorum for it.
    const grant =
      state.policy.grant && grantFromVotes(state.policy.grant, state.policy.rule, state.id, { ...state.request, requester: state.requester }, approving);
    return recordEvent('approved', 'countersign', {
      decidedBy: 'approvers',
      approvers: approving.map((v) => v.approver),
      ...(grant ? { grant } : {}),
    });
  }
  return undefined;
}

/**
 * Where a vote comes from: a personal review link (email, or one a Teams card's page sent), Slack, the decision API,
 * or the console (a signed-in viewer deciding from the inbox or a request's page).
 */
export type VoteChannel = 'review_link' | 'slack' | 'decision_api' | 'console';

export interface Voter {
  /** Who votes: the approver's member id as the channel established it. */
  readonly approver: string;
  readonly via: VoteChannel;
  /**
   * Whether the voter proved who they are by signing in: an OIDC session for the link's approver on a review link;
   * always true on the decision API, whose caller IAM (SigV4) authenticated, and in the console, whose session is an
   * OIDC sign-in (or, in local mode, a caller authenticated as the API's are). A Slack click never is.
   */
  readonly signedIn: boolean;
}

/** Why the rule's channel options refuse this vote, or undefined when they allow it. */
export function channelRefusal(policy: PolicyDecidedData, voter: Voter): string | undefined {
  if (voter.via === 'slack' && policy.channels !== undefined && !policy.channels.includes('slack')) {
    return 'this request does not take decisions in Slack: use your personal review link';
  }
  if (policy.requireSignIn && !voter.signedIn) {
    return voter.via === 'slack'
      ? 'this request needs you to sign in before deciding: open the Review link and sign in'
      : 'this request needs you to sign in before deciding: open your review link and sign in';
  }
  return undefined;
}

/**
 * What a vote still has to append to `chain`: the vote, then the outcome it settles.
 * Throws the API's errors: not_found (also for a voter who may not see the request, so existence is never revealed),
 * self_approval, not_an_approver, forbidden (the rule's channel or sign-in options), already_decided (settled,
 * expired, or a changed vote). Pure in the chain, so the ledger may call it again after another writer appended first.
 */
export function decideVote(
  chain: readonly AuditRecord[],
  voter: Voter,
  vote: VoteInput,
  now: Date,
  directory: IdentityDirectory,
  /** A rule's grant offer in the loaded policy (none: it grants no more); a vote's `for` is checked against it. */
  grantOfferNow: (rule: string) => GrantOffer | undefined = () => undefined,
): AuditEvent[] {
  const { approver } = voter;
  const state = deriveState(chain);
  if (!state?.policy || !canRead(state, approver, directory)) throw new CountersignError('not_found', 'no such request');
  const mine = state.votes.find((v) => directory.samePerson(v.approver, approver));
  if (mine) {
    if (mine.decision !== vote.decision) {
      throw new CountersignError('already_decided', `you already voted ${mine.decision}; a vote cannot be changed`);
    }
    // The same decision for another length is another vote, not a repeat: say so rather than drop the `for`.
    const asked = vote.for === undefined ? undefined : parseDuration(vote.for);
    if (asked !== mine.forSeconds) {
      const was = mine.forSeconds === undefined ? 'for this call only' : `for ${spanWords(mine.forSeconds * 1000)}`;
      throw new CountersignError('already_decided', `you already voted ${mine.decision} ${was}; a vote cannot be changed`);
    }
    // A repeated identical vote (a double click, a retried delivery) changes nothing but may finish a settle.
    const settle = settledByVotes(state);
    return settle ? [settle] : [];
  }
  if (isSelf(state, approver, directory))
    throw new CountersignError('self_approval', 'the requester, or the person the agent acts for, cannot approve this request');
  if (!isApprover(state, approver, directory)) throw new CountersignError('not_an_approver', 'you are not an approver of this request');
  if (state.outcome) throw new CountersignError('already_decided', `the request is already ${state.outcome.status}`);
  if (state.policy.expiresAt && now.getTime() >= Date.parse(state.policy.expiresAt)) {
    throw new CountersignError('already_decided', 'the request has expired');
  }
  const refusal = channelRefusal(state.policy, voter);
  if (refusal) throw new CountersignError('forbidden', refusal);
  const forSeconds = vote.for === undefined ? undefined : grantSeconds(state, vote, grantOfferNow(state.policy.rule));
  return [
    recordEvent('voted', approver, {
      approver,
      decision: vote.decision,
      ...(vote.reason ? { reason: vote.reason } : {}),
      ...(forSeconds !== undefined ? { forSeconds } : {}),
    }),
  ];
}

/**
 * The seconds a vote's `for` asks, or the 400 when no grant can come of it: the rule as recorded must offer one, and
 * still offer the same (`grantOfferNow`, the loaded policy's: a rule changed or dropped since ends its grants, so
 * none is made under it); and a scoped field the ledger holds masked could never match a later request.
 */
function grantSeconds(state: ApprovalState, vote: VoteInput, grantOfferNow: GrantOffer | undefined): number {
  const policy = state.policy!;
  const refuse = (message: string) => new CountersignError('invalid_request', message, [{ path: 'for', message }]);
  if (vote.decision !== 'approve') throw refuse('only an approval can be for a while: leave out "for" to deny');
  if (!policy.grant) throw refuse(`rule ${policy.rule} approves one call at a time: leave out "for"`);
  if (grantOfferNow?.ruleDigest !== policy.grant.ruleDigest) {
    throw refuse(`rule ${policy.rule} changed since this request was made, and grants no more under it: leave out "for"`);
  }
  const seconds = parseDuration(vote.for!);
  if (seconds === undefined || seconds > policy.grant.maxForSeconds || seconds < MIN_GRANT_SECONDS) {
    throw refuse(`rule ${policy.rule} grants for at least 1 minute and at most ${spanWords(policy.grant.maxForSeconds * 1000)}`);
  }
  const masked = Object.entries(grantScopeValues(policy.grant.scope, { ...state.request, requester: state.requester })).find(
    ([, value]) => value !== null && MASK_MARKER.test(value),
  );
  if (masked) throw refuse(`this request's ${masked[0]} is masked, so a grant could never match it again: approve this call only`);
  return seconds;
}

/** Whether the request waits for `principal`'s vote: open, not expired, theirs to decide, and not yet voted by them. */
export function awaitsVoteFrom(state: ApprovalState, principal: string, now: Date, directory: IdentityDirectory): boolean {
  if (state.outcome || state.policy?.effect !== 'require_approval') return false;
  if (state.policy.expiresAt && now.getTime() >= Date.parse(state.policy.expiresAt)) return false;
  return (
    isApprover(state, principal, directory) && !isSelf(state, principal, directory) && !state.votes.some((v) => directory.samePerson(v.approver, principal))
  );
}

/** The summary a pending request's item carries (core/ports.ts `PendingSummary`): fixed at intake, so a superset of who may vote. */
export function pendingSummaryOf(state: ApprovalState): { approvers: string[]; onBehalfOf?: string; expiresAt?: string } {
  return {
    approvers: [...new Set([...allApprovers(state), ...(state.policy?.escalateTo ?? [])])],
    ...(state.request.onBehalfOf !== undefined ? { onBehalfOf: state.request.onBehalfOf } : {}),
    ...(state.policy?.expiresAt ? { expiresAt: state.policy.expiresAt } : {}),
  };
}

/**
 * Whether a pending request may wait for `principal`'s vote, judged on its item's summary alone: never false when
 * `awaitsVoteFrom` would be true on its chain (the summary's approvers are all who may ever vote; its voters only
 * lag), so the chain of each candidate decides. An item without a summary is always a candidate.
 */
export function mayAwaitVoteFrom(
  summary: { requester: string; approvers?: readonly string[]; onBehalfOf?: string; expiresAt?: string; voters?: readonly string[] },
  principal: string,
  now: Date,
  directory: IdentityDirectory,
): boolean {
  if (!summary.approvers) return true;
  if (summary.expiresAt && now.getTime() >= Date.parse(summary.expiresAt)) return false;
  return (
    directory.isAnyOf(principal, summary.approvers) &&
    !directory.isOneOf(principal, [summary.requester, summary.onBehalfOf]) &&
    !(summary.voters ?? []).some((v) => directory.samePerson(v, principal))
  );
}

/** What a requester's cancel still has to append (any session of the requesting role may cancel). */
export function decideCancel(chain: readonly AuditRecord[], principal: string, directory: IdentityDirectory): AuditEvent[] {
  const state = deriveState(chain);
  if (!state) throw new CountersignError('not_found', 'no such request');
  if (state.outcome?.status === 'cancelled' && state.outcome.decidedBy === 'requester') return [];
  if (!directory.samePerson(state.requester, principal)) throw new CountersignError('forbidden', 'only the requester can cancel a request');
  if (state.outcome) throw new CountersignError('already_decided', `the request is already ${state.outcome.status}`);
  return [recordEvent('cancelled', principal, { decidedBy: 'requester' })];
}

/**
 * The error codes by which a redemption refuses the receipt (docs/api.md "POST /v1/actions/{id}/redeem"): the executor
 * must not run. One list for the API's metric, the client, `countersign run` (exit 8) and `receipt verify --redeem`
 * (exit 1). A caller who is not the requester (`forbidden`) is no verdict on the receipt: the CLI answers it as any
 * refused call (exit 3), and runs nothing either.
 */
export const REDEMPTION_REFUSALS: ReadonlySet<string> = new Set([
  'already_redeemed',
  'receipt_mismatch',
  'parameters_mismatch',
  'redemption_lapsed',
  'invalid_request',
]);

/** A redemption as the requester's executor asks it (`POST /v1/actions/{id}/redeem`). */
export interface RedemptionAsk {
  /** The caller, canonical. */
  readonly redeemer: string;
  /**
   * A random id of this redemption attempt: the ledger asks `decide` again on the chain with its own record planned,
   * and only this id tells that record (nothing more to append) from a concurrent winner's (already redeemed), since
   * both carry the same redeemer and receipt.
   */
  readonly redemptionId: string;
  /** The receipt's claims, already verified with the ledger key (signature, expiry). */
  readonly claims: ReceiptClaims;
  /** Hex SHA-256 of the compact receipt. */
  readonly receiptSha256: string;
  /** What the executor is about to run, as the receipt's commitment to the parameters; checked when given. */
  readonly parametersCommitment?: string;
  /** When the redemption is asked: an approval past its redeem deadline is refused even before its lapse is recorded. */
  readonly now: Date;
}

/** The receipt's commitment to the parameters: a salted HMAC, or a plain SHA-256 in receipts from before them. */
export const receiptCommitment = (claims: ReceiptClaims): string | undefined => claims.paramsHmac ?? claims.paramsSha256;

/**
 * What a redemption still has to append: the one `executed` record, or a refusal. Checked in this order: a caller
 * who may not read the request (`not_found`), one who may but is not the requester (`forbidden`), a receipt for
 * another request, action or parameters than the chain records (`receipt_mismatch`), an approval that lapsed
 * unredeemed (`redemption_lapsed`), a request that is not approved (`receipt_mismatch`), a `parametersCommitment`
 * that is not the receipt's (`parameters_mismatch`), a request redeemed already (`already_redeemed`, naming when and
 * by whom), an approval past its redeem deadline whose lapse is not recorded yet (`redemption_lapsed`). Pure in the
 * chain: concurrent redemptions race on the chain's next seq, the losers decide again on the chain the winner wrote,
 * and see it redeemed (or lapsed). A repeat is never idempotent: at most once means the second asker is refused, even
 * with the same receipt.
 */
export function decideRedemption(chain: readonly AuditRecord[], ask: RedemptionAsk, directory: IdentityDirectory): AuditEvent[] {
  const { redeemer, claims } = ask;
  const state = deriveState(chain);
  if (!state || !canRead(state, redeemer, directory)) throw new CountersignError('not_found', 'no such request');
  if (!isRequester(state, redeemer, directory)) throw new CountersignError('forbidden', 'only the requester can redeem a receipt');
  if (claims.sub !== state.id) throw new CountersignError('receipt_mismatch', `the receipt is for request ${claims.sub}, not ${state.id}`);
  const committed = receiptCommitment(claims);
  if (claims.action !== state.request.action || committed === undefined || (state.parameters !== undefined && committed !== state.parameters.value)) {
    throw new CountersignError('receipt_mismatch', 'the receipt does not match the action and parameters the ledger records for this request');
  }
  if (state.lapse) throw lapsedError(state.lapse.at);
  if (statusOf(state) !== 'approved') throw new CountersignError('receipt_mismatch', `the request is ${statusOf(state)}, not approved`);
  if (ask.parametersCommitment !== undefined && ask.parametersCommitment !== committed) {
    throw new CountersignError('parameters_mismatch', "parametersCommitment is not the receipt's: these are not the parameters that were approved", [
      { path: 'parametersCommitment', message: 'does not match the receipt' },
    ]);
  }
  if (state.redemption?.id === ask.redemptionId) return []; // this redemption's own record, planned or written
  if (state.redemption) {
    const { at, by } = state.redemption;
    throw new CountersignError('already_redeemed', `the approval was already redeemed at ${at} by ${by}`, [
      { path: 'redeemedAt', message: at },
      { path: 'redeemedBy', message: by },
    ]);
  }
  const deadline = redeemDeadline(state);
  if (deadline && ask.now.getTime() >= deadline.getTime()) throw lapsedError(deadline.toISOString());
  return [recordEvent('executed', redeemer, { redeemer, redemptionId: ask.redemptionId, receiptSha256: ask.receiptSha256, parametersCommitment: committed })];
}

/** Whether `principal` may revoke the grant `state`'s approval made: an approver of its request, or an auditor. */
export function mayRevokeGrant(state: ApprovalState, principal: string, directory: IdentityDirectory): boolean {
  return isApprover(state, principal, directory) || directory.isAuditor(principal);
}

/**
 * What revoking the grant `state`'s approval made still has to append: `grant_revoked`, or a refusal. Any approver of
 * the granting request, or an auditor, may revoke, with a reason; a grant revoked, expired or never made is a 409.
 */
export function decideGrantRevocation(
  chain: readonly AuditRecord[],
  grantId: string,
  revoker: string,
  reason: string,
  now: Date,
  directory: IdentityDirectory,
): AuditEvent[] {
  const state = deriveState(chain);
  if (!state?.grant || state.grant.id !== grantId || !canRead(state, revoker, directory)) throw new CountersignError('not_found', 'no such grant');
  if (!mayRevokeGrant(state, revoker, directory)) {
    throw new CountersignError('forbidden', "only an approver of the grant's rule or an auditor can revoke a grant");
  }
  if (state.grantRevoked) {
    if (directory.samePerson(state.grantRevoked.by, revoker) && state.grantRevoked.reason === reason) return []; // a retry
    throw new CountersignError('already_decided', `the grant was already revoked at ${state.grantRevoked.at} by ${state.grantRevoked.by}`);
  }
  if (now.getTime() >= Date.parse(state.grant.until)) throw new CountersignError('already_decided', `the grant expired at ${state.grant.until}`);
  return [recordEvent('grant_revoked', revoker, { grant: grantId, revokedBy: revoker, reason })];
}

/**
 * What ending a grant whose rule the loaded policy changed or dropped still has to append: `grant_revoked` by
 * `countersign`, so the end is final (a later policy that restores the rule does not bring the grant back). Nothing
 * when the grant is gone, already revoked, expired, or bound to `currentDigest` (the rule is as it was after all).
 */
export function decideGrantEnd(chain: readonly AuditRecord[], grantId: string, currentDigest: string | undefined, reason: string, now: Date): AuditEvent[] {
  const state = deriveState(chain);
  const grant = state?.grant;
  if (!grant || grant.id !== grantId || state.grantRevoked || now.getTime() >= Date.parse(grant.until)) return [];
  if (grant.ruleDigest === currentDigest) return [];
  return [recordEvent('grant_revoked', 'countersign', { grant: grantId, revokedBy: 'countersign', reason })];
}

/** The refusal of a redemption after the approval lapsed (at `at`: the lapse record's time, or the deadline). */
export function lapsedError(at: string): CountersignError {
  return new CountersignError('redemption_lapsed', `the approval lapsed unredeemed at ${at}: ask again`, [{ path: 'lapsedAt', message: at }]);
}

/** What the workflow's timeout still has to append: `expired`, unless something settled the request first. */
export function decideExpiry(chain: readonly AuditRecord[], reason: string): AuditEvent[] {
  const state = deriveState(chain);
  if (!state || state.outcome) return [];
  return [recordEvent('expired', 'countersign', { decidedBy: 'timeout', reason })];
}

/** The events that complete a votes-settled request, for a repeated pass (e.g. after a crash between appends). */
export function decideSettlement(chain: readonly AuditRecord[]): AuditEvent[] {
  const state = deriveState(chain);
  const settle = state && settledByVotes(state);
  return settle ? [settle] : [];
}

/** The answer body for a request (docs/api.md "The request as every answer shows it"). */
export function publicView(state: ApprovalState, receipt?: string): ActionView {
  const { request, policy, outcome } = state;
  const redeemBy = !state.redemption && !state.lapse ? redeemDeadline(state) : undefined;
  return {
    id: state.id,
    status: statusOf(state),
    action: request.action,
    ...(request.resource !== undefined ? { resource: request.resource } : {}),
    ...(request.environment !== undefined ? { environment: request.environment } : {}),
    requester: state.requester,
    ...(request.onBehalfOf !== undefined ? { onBehalfOf: request.onBehalfOf } : {}),
    ...(policy?.rule !== undefined ? { rule: policy.rule } : {}),
    requiredApprovals: policy?.requiredApprovals ?? 0,
    votes: state.votes.map((v) => ({
      approver: v.approver,
      decision: v.decision,
      ...(v.reason ? { reason: v.reason } : {}),
      ...(v.forSeconds !== undefined ? { forSeconds: v.forSeconds } : {}),
      at: v.at,
    })),
    ...(outcome ? { decidedBy: outcome.decidedBy, decidedAt: outcome.at } : {}),
    ...((state.lapse?.reason ?? outcome?.reason ?? policy?.reason) ? { reason: state.lapse?.reason ?? outcome?.reason ?? policy?.reason } : {}),
    createdAt: state.createdAt,
    ...(policy?.expiresAt ? { expiresAt: policy.expiresAt } : {}),
    ...(!outcome && policy?.effect === 'require_approval' ? { missing: stillMissing(state) } : {}),
    ...(receipt && statusOf(state) === 'approved' ? { receipt } : {}),
    ...(state.redemption ? { redeemedAt: state.redemption.at, redeemedBy: state.redemption.by } : {}),
    ...(state.grant ? { grant: { id: state.grant.id, until: state.grant.until } } : {}),
    ...(policy?.grantedBy ? { grantedBy: { grant: policy.grantedBy.grant, request: policy.grantedBy.request } } : {}),
    ...(redeemBy ? { redeemBy: redeemBy.toISOString() } : {}),
    ...(state.lapse ? { lapsedAt: state.lapse.at } : {}),
  };
}

export interface IntakeRecords {
  readonly requester: string;
  /** The request as recorded: already masked. */
  readonly request: z.infer<typeof actionRequestSchema>;
  /** Commitments under the request's salt (core/commitment.ts). */
  readonly bodyCommitment: string;
  readonly parametersCommitment: string;
  readonly masked: ReadonlyArray<{ path: string; reason: string }>;
  readonly policy: PolicyDecidedData;
}

/**
 * What a new request still has to append: `requested`, `policy_decided`, and the policy's own outcome when it
 * allows or denies at once. A retry with the same Idempotency-Key finds them and appends nothing; the same key with
 * another body is refused.
 */
export function decideIntake(chain: readonly AuditRecord[], intake: IntakeRecords): AuditEvent[] {
  const state = deriveState(chain);
  if (!state) {
    const { requester, request, bodyCommitment, parametersCommitment, masked } = intake;
    return [
      recordEvent('requested', requester, { request, requester, bodyCommitment, parametersCommitment, ...(masked.length ? { masked: [...masked] } : {}) }),
    ];
  }
  if (state.body.kind !== 'commitment' || state.body.value !== intake.bodyCommitment || state.requester !== intake.requester) {
    throw new CountersignError('idempotency_conflict', 'this Idempotency-Key was used with another request body');
  }
  if (!state.policy) return [recordEvent('policy_decided', 'countersign', { ...intake.policy })];
  const { grantedBy } = state.policy;
  if (!state.outcome && grantedBy) {
    return [recordEvent('approved', 'countersign', { decidedBy: 'grant', approvers: [...grantedBy.approvers] })];
  }
  if (!state.outcome && state.policy.effect !== 'require_approval') {
    return [
      {
        type: state.policy.effect === 'allow' ? 'approved' : 'denied',
        actor: 'countersign',
        data: { decidedBy: 'policy', ...(state.policy.reason ? { reason: state.policy.reason } : {}) },
      },
    ];
  }
  return [];
}

export interface WakePlan {
  /** The deadline has passed: expire the request. */
  readonly expired: boolean;
  /** Approvers to remind now (pending, not voted, not self). */
  readonly remind: readonly string[];
  /** Approvers to add and ask now (escalation due and not yet done). */
  readonly escalate: readonly string[];
  /**
   * Seconds until the workflow should wake next (deadline, next reminder or escalation): a whole number of at least 1
   * and at most the seconds left to the deadline, rounded up, whenever `expired` is false (a settled request answers
   * 1: the next Notify finds it settled); 0 when expired.
   */
  readonly seconds: number;
}

/**
 * What is due at `now` for a pending request, and when to wake next. Reminders repeat every `remindAfter` (from
 * the request, then from the last reminder) to approvers who have not voted; escalation happens once.
 */
export function planWake(state: ApprovalState, now: Date, directory: IdentityDirectory): WakePlan {
  const policy = state.policy;
  const t = now.getTime();
  const deadline = policy?.expiresAt ? Date.parse(policy.expiresAt) : t;
  // Settled meanwhile (a vote during Wake): wake at once, and the next Notify closes the workflow.
  if (state.outcome) return { expired: false, remind: [], escalate: [], seconds: 1 };
  if (!policy || t >= deadline) return { expired: true, remind: [], escalate: [], seconds: 0 };
  const created = Date.parse(state.createdAt);
  const wakes = [deadline];
  let escalate: string[] = [];
  if (policy.escalateAfterSeconds !== undefined && policy.escalateTo && !state.escalatedTo) {
    const due = created + policy.escalateAfterSeconds * 1000;
    if (t >= due) escalate = policy.escalateTo.filter((a) => !isSelf(state, a, directory) && !directory.isAnyOf(a, policy.approvers));
    else wakes.push(due);
  }
  let remind: string[] = [];
  if (policy.remindAfterSeconds !== undefined) {
    const every = policy.remindAfterSeconds * 1000;
    const due = (state.remindedAt ? Date.parse(state.remindedAt) : created) + every;
    if (t >= due) {
      remind = approversToAsk(state, directory).filter(
        (a) =>
          !directory.isAnyOf(
            a,
            state.votes.map((v) => v.approver),
          ),
      );
      wakes.push(t + every);
    } else wakes.push(due);
  }
  return { expired: false, remind, escalate, seconds: Math.max(1, Math.ceil((Math.min(...wakes) - t) / 1000)) };
}

/**
 * The Wake step's answer, the next Notify's `TimeoutSecondsPath`: Step Functions refuses a timeout below 1 with a
 * States.Runtime error that no Catch handles, so a wait that does not expire is always at least one second.
 */
export function nextWait(state: ApprovalState, now: Date, directory: IdentityDirectory): WorkflowWait {
  const plan = planWake(state, now, directory);
  return plan.expired ? { expired: true, seconds: 0 } : { expired: false, seconds: Math.max(1, plan.seconds) };
}
