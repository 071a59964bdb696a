/**
 * How Countersign tells a person which rule decides a request and why: the words `countersign policy explain` prints
 * and the console's explain form shows, from one place. Pure.
 */
import { type Channel, type Config, channelsFor, type PolicyOutcome, timeoutSeconds } from './config';
import { CountersignError, type ErrorDetail } from './errors';
import { canonicalPrincipal, IdentityError, onBehalfOfIdentity } from './identity';
import { approverIds, explainPolicy, type PolicyExplanation, type PolicyInput, type PolicyVerdict, type ShadowVerdict, type Unjudged } from './policy';
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
/**
 * The request as intake reads it for policy (app/ask.ts): the requester and `onBehalfOf` in their canonical spelling,
 * or, for a spelling no identity has, the problems the API's 400 names. Explaining a request another way would
 * explain another verdict: a respelled requester matches rules and grants as its canonical form does.
 */
export function asIntakeReads(
  request: PolicyInput,
  requester: string | undefined,
): { readonly input: PolicyInput; readonly problems?: undefined } | { readonly problems: ErrorDetail[] } {
  const problems: ErrorDetail[] = [];
  let input: PolicyInput = request;
  if (requester !== undefined) {
    try {
      input = { ...input, requester: canonicalPrincipal(requester) };
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      problems.push({ path: 'requester', message: `it ${err.message}` });
    }
  }
  if (input.onBehalfOf !== undefined) {
    try {
      input = { ...input, onBehalfOf: onBehalfOfIdentity(input.onBehalfOf) };
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      problems.push(...err.details);
    }
  }
  return problems.length > 0 ? { problems } : { input };
}

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

/** "rule reads: does not match", or "rule strict-reads (shadow): does not match". */
export function skippedWords(rule: string, shadow?: boolean): string {
  return `rule ${rule}${shadow ? ' (shadow)' : ''}: does not match`;
}

/**
 * "rule strict-exports (shadow): matches -> would require_approval; on trial, not enforced", or for a shadow rule
 * that cannot judge the request, the refusal it would have made.
 */
export function shadowWords(verdict: ShadowVerdict): string {
  const would = verdict.refused
    ? 'cannot judge the request -> would refuse it (400 invalid_request)'
    : `matches -> would ${verdict.outcome.effect}${verdict.outcome.reason ? ` (${verdict.outcome.reason})` : ''}`;
  return `rule ${verdict.rule} (shadow): ${would}; on trial, not enforced`;
}

/** A shadow verdict for `policy explain --json`: the would-be effect and approval, or the refusal and its problems. */
export type ShadowExplained =
  | { readonly rule: string; readonly effect: PolicyOutcome['effect']; readonly reason?: string; readonly approval?: ApprovalSummary }
  | { readonly rule: string; readonly refused: true; readonly problems: readonly Unjudged[] };

export function shadowExplained(config: Config, verdict: ShadowVerdict): ShadowExplained {
  if (verdict.refused) return { rule: verdict.rule, refused: true, problems: verdict.problems };
  const { outcome } = verdict;
  const approval = approvalSummary(config, outcome);
  return { rule: verdict.rule, effect: outcome.effect, ...(outcome.reason ? { reason: outcome.reason } : {}), ...(approval ? { approval } : {}) };
}

/** One rule tried before the verdict: it did not match (and why), or it is a shadow rule that matched or could not judge. */
export type ExplainStep =
  | { readonly kind: 'skipped'; readonly skipped: PolicyExplanation['skipped'][number] }
  | { readonly kind: 'shadow'; readonly shadow: ShadowVerdict; readonly approval?: ApprovalSummary };

/** The rules tried before the verdict, in the config's order: the skipped ones and the shadow ones, interleaved. */
export function explainSteps(config: Config, explained: PolicyExplanation): ExplainStep[] {
  const order = new Map(config.rules.map((rule, index) => [rule.name, index]));
  const steps: Array<{ at: number; step: ExplainStep }> = [
    ...explained.skipped.map((skipped) => ({ at: order.get(skipped.rule) ?? 0, step: { kind: 'skipped' as const, skipped } })),
    ...(explained.shadow ?? []).map((shadow) => {
      const approval = shadow.refused ? undefined : approvalSummary(config, shadow.outcome);
      return { at: order.get(shadow.rule) ?? 0, step: { kind: 'shadow' as const, shadow, ...(approval ? { approval } : {}) } };
    }),
  ];
  return steps.sort((a, b) => a.at - b.at).map((s) => s.step);
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
