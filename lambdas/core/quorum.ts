/**
 * Quorum: how many approvals a rule needs and from whom, and what a request's approvals still lack. A rule asks
 * either `minApprovals` distinct approvers (1 by default) or, across teams, `require`: so many distinct approvals
 * from each group's members, where one person fills one requirement.
 */
import type { Config, PolicyOutcome } from './config';
import { identityKey } from './identity';
import type { PolicyDecidedData, Requirement } from './records';

/** The rule's cross-team requirements with each group's members, or undefined for a plain `minApprovals` rule. */
export function requirementsOf(config: Pick<Config, 'groups'>, outcome: PolicyOutcome): Requirement[] | undefined {
  return outcome.require?.map((r) => ({ group: r.group, min: r.min, members: (config.groups[r.group]?.members ?? []).map((m) => m.id) }));
}

/** How many approvals the outcome needs in all: 0 unless it asks for approval. */
export function approvalsNeeded(outcome: PolicyOutcome): number {
  if (outcome.effect !== 'require_approval') return 0;
  return outcome.require ? outcome.require.reduce((n, r) => n + r.min, 0) : (outcome.minApprovals ?? 1);
}

/**
 * How many approvals each requirement still lacks. One approval fills at most one requirement (a person in two
 * groups counts once), so approvals are assigned to requirement slots by a maximum bipartite matching.
 */
export function quorumShortfall(requirements: readonly Requirement[], approved: readonly string[]): Array<{ group: string; more: number }> {
  const slots = requirements.flatMap((r, i) => Array.from({ length: r.min }, () => i));
  // Compared by identity key, each worked out once (the matching below tries every pair, repeatedly).
  const members = requirements.map((r) => new Set(r.members.map(identityKey)));
  const approvedKeys = approved.map(identityKey);
  const owner: number[] = slots.map(() => -1);
  const assign = (a: number, seen: boolean[]): boolean => {
    for (let s = 0; s < slots.length; s++) {
      if (seen[s] || !members[slots[s]!]!.has(approvedKeys[a]!)) continue;
      seen[s] = true;
      if (owner[s] === -1 || assign(owner[s]!, seen)) {
        owner[s] = a;
        return true;
      }
    }
    return false;
  };
  approved.forEach((_, a) =>
    assign(
      a,
      slots.map(() => false),
    ),
  );
  return requirements.map((r, i) => ({ group: r.group, more: slots.filter((g, s) => g === i && owner[s] === -1).length })).filter((m) => m.more > 0);
}

/**
 * What the distinct `approved` (member ids) still lack under the recorded policy, in words (`1 more from security`,
 * `2 more approvals`); empty once the quorum is met. Escalated approvers may fill any requirement of a cross-team
 * quorum: escalation is there to unblock it.
 */
export function quorumGaps(
  policy: Pick<PolicyDecidedData, 'require' | 'requiredApprovals'>,
  approved: readonly string[],
  escalatedTo: readonly string[],
): string[] {
  if (policy.require) {
    const requirements = policy.require.map((r) => ({ ...r, members: [...new Set([...r.members, ...escalatedTo])] }));
    return quorumShortfall(requirements, approved).map((m) => `${m.more} more from ${m.group}`);
  }
  const more = policy.requiredApprovals - approved.length;
  return more > 0 ? [`${more} more approval${more === 1 ? '' : 's'}`] : [];
}
