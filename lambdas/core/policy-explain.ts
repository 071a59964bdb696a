/**
 * How Countersign tells a person which rule decides a request and why: the words `countersign policy explain` prints
 * and the console's explain form shows, from one place. Pure.
 */
import { type Channel, type Config, channelsFor, type PolicyOutcome, timeoutSeconds } from './config';
import { approverIds, explainPolicy, type PolicyExplanation, type PolicyInput, type PolicyVerdict } from './policy';
import { requirementsOf } from './quorum';
import type { Requirement } from './records';

/** What an approval outcome asks for: who, how many, where, and for how long. */
export interface ApprovalSummary {
  readonly approvers: string[];
  readonly require?: Requirement[];
  readonly minApprovals?: number;
  readonly channels: Channel[];
  readonly timeoutSeconds: number;
  readonly requireSignIn?: true;
}

/** The verdict, why each earlier rule did not match, and for an approval what it asks for. */
export type Explained = PolicyVerdict & PolicyExplanation & { readonly approval?: ApprovalSummary };

/** Explains a request against the policy, with the approval it would ask for. */
export function explainRequest(config: Config, request: PolicyInput): Explained {
  const explained = explainPolicy(config, request);
  if (explained.refused) return explained;
  const approval = approvalSummary(config, explained.outcome);
  return approval ? { ...explained, approval } : explained;
}

/** What an outcome asks of approvers; undefined unless it requires approval. */
export function approvalSummary(config: Config, outcome: PolicyOutcome): ApprovalSummary | undefined {
  if (outcome.effect !== 'require_approval') return undefined;
  const require = requirementsOf(config, outcome);
  return {
    approvers: approverIds(config, outcome),
    ...(require ? { require } : { minApprovals: outcome.minApprovals ?? 1 }),
    channels: channelsFor(config, outcome),
    timeoutSeconds: timeoutSeconds(outcome),
    ...(outcome.requireSignIn ? { requireSignIn: true as const } : {}),
  };
}

/** "rule reads: does not match". */
export function skippedWords(rule: string): string {
  return `rule ${rule}: does not match`;
}

/** "rule big-exports: cannot judge the request -> refused (400 invalid_request)", or refused before any rule. */
export function refusedWords(rule: string | undefined): string {
  return rule ? `rule ${rule}: cannot judge the request -> refused (400 invalid_request)` : 'request refused before any rule (400 invalid_request)';
}

/** "rule prod-exports: matches -> require_approval", or the default deciding; with the outcome's reason. */
export function decidedWords(rule: string, outcome: PolicyOutcome): string {
  return `rule ${rule}: ${rule === 'default' ? 'no rule matched; the default decides' : 'matches'} -> ${outcome.effect}${outcome.reason ? ` (${outcome.reason})` : ''}`;
}

/** "2 of alice@example.com, bob@example.com", or "1 from platform (dave@example.com) and 1 from data-owners (…)". */
export function quorumWords(approval: ApprovalSummary): string {
  return approval.require
    ? approval.require.map((r) => `${r.min} from ${r.group} (${r.members.join(', ')})`).join(' and ')
    : `${approval.minApprovals ?? 1} of ${approval.approvers.join(', ')}`;
}

/** "approval: 2 of alice, bob; asked on email; expires after 3600 s; sign-in required". */
export function approvalWords(approval: ApprovalSummary): string {
  return `approval: ${quorumWords(approval)}; asked on ${approval.channels.join(', ')}; expires after ${approval.timeoutSeconds} s${approval.requireSignIn ? '; sign-in required' : ''}`;
}
