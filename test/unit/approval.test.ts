import { describe, expect, it } from 'vitest';
import { decideCancel, decideExpiry, decideIntake, decideVote, deriveState, planWake, publicView, statusOf } from '../../lambdas/core/approval';
import { CountersignError } from '../../lambdas/core/errors';
import { IdentityDirectory } from '../../lambdas/core/identity';
import type { AuditRecord } from '../../lambdas/core/ledger-record';
import type { PolicyDecidedData } from '../../lambdas/core/records';
import { settle } from '../fixtures/unsigned-chain';

const directory = new IdentityDirectory([]);

const NOW = new Date('2026-01-01T00:00:00Z');
const policy: PolicyDecidedData = {
  rule: 'exports',
  effect: 'require_approval',
  requiredApprovals: 2,
  approvers: ['alice', 'bob', 'carol', 'agent-role'],
  timeoutSeconds: 3600,
  expiresAt: '2026-01-01T01:00:00Z',
};
const intake = {
  requester: 'agent-role',
  request: { action: 'data.export', onBehalfOf: 'carol' },
  bodyCommitment: 'h1',
  parametersCommitment: 'p1',
  masked: [],
  policy,
};

const pending = () => settle([], (c) => decideIntake(c, intake));
const vote = (chain: AuditRecord[], who: string, decision: 'approve' | 'deny', now = NOW) =>
  settle(chain, (c) => decideVote(c, { approver: who, via: 'decision_api', signedIn: true }, { decision }, now, directory));
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountersignError) return err.code;
    throw err;
  }
  return 'ok';
};

describe('planWake', () => {
  const withSchedule = (chain: AuditRecord[]) => {
    const state = deriveState(chain)!;
    return {
      ...state,
      createdAt: NOW.toISOString(),
      policy: { ...state.policy!, remindAfterSeconds: 600, escalateAfterSeconds: 1200, escalateTo: ['dave', 'bob'] },
    };
  };
  const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

  it('wakes at the next reminder, escalation or deadline, and says what is due', () => {
    const state = withSchedule(vote(pending(), 'alice', 'approve'));
    expect(planWake(state, at(0), directory)).toEqual({ expired: false, remind: [], escalate: [], seconds: 600 });
    expect(planWake(state, at(600), directory)).toEqual({ expired: false, remind: ['bob'], escalate: [], seconds: 600 });
    expect(planWake({ ...state, remindedAt: at(600).toISOString() }, at(1200), directory)).toEqual({
      expired: false,
      remind: ['bob'],
      escalate: ['dave'],
      seconds: 600,
    });
    expect(planWake({ ...state, escalatedTo: ['dave'], remindedAt: at(3000).toISOString() }, at(3300), directory).seconds).toBe(300);
    expect(planWake(state, at(3600), directory)).toMatchObject({ expired: true });
  });
});

describe('approval rules', () => {
  it('records a new request as requested then policy_decided, and nothing more on a retry', () => {
    const chain = pending();
    expect(chain.map((r) => r.type)).toEqual(['requested', 'policy_decided']);
    expect(decideIntake(chain, intake)).toEqual([]);
    expect(code(() => decideIntake(chain, { ...intake, bodyCommitment: 'other' }))).toBe('idempotency_conflict');
    expect(statusOf(deriveState(chain)!)).toBe('pending');
  });

  it('settles allow and deny policies at once', () => {
    const allowed = settle([], (c) => decideIntake(c, { ...intake, policy: { ...policy, effect: 'allow', requiredApprovals: 0, approvers: [] } }));
    expect(allowed.map((r) => r.type)).toEqual(['requested', 'policy_decided', 'approved']);
    expect(deriveState(allowed)!.outcome).toMatchObject({ status: 'approved', decidedBy: 'policy' });
    const denied = settle([], (c) => decideIntake(c, { ...intake, policy: { ...policy, effect: 'deny', reason: 'no', requiredApprovals: 0, approvers: [] } }));
    expect(publicView(deriveState(denied)!)).toMatchObject({ status: 'denied', decidedBy: 'policy', reason: 'no' });
  });

  it('approves after minApprovals distinct approvals, exactly once', () => {
    let chain = vote(pending(), 'alice', 'approve');
    expect(statusOf(deriveState(chain)!)).toBe('pending');
    chain = vote(chain, 'alice', 'approve');
    expect(chain.filter((r) => r.type === 'voted')).toHaveLength(1);
    chain = vote(chain, 'bob', 'approve');
    expect(chain.filter((r) => r.type === 'approved')).toHaveLength(1);
    expect(deriveState(chain)!.outcome).toMatchObject({ status: 'approved', decidedBy: 'approvers' });
    expect(chain.at(-1)!.data.approvers).toEqual(['alice', 'bob']);
    // The repeated identical vote after the outcome is idempotent; a new voter is refused.
    expect(vote(chain, 'bob', 'approve')).toHaveLength(chain.length);
    expect(code(() => decideVote(chain, { approver: 'carol', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory))).toBe(
      'self_approval',
    );
  });

  it('denies on the first deny', () => {
    const chain = vote(vote(pending(), 'alice', 'approve'), 'bob', 'deny');
    expect(deriveState(chain)!.outcome).toMatchObject({ status: 'denied', decidedBy: 'approvers' });
    expect(code(() => decideVote(chain, { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'deny' }, NOW, directory))).toBe(
      'already_decided',
    );
  });

  it('refuses the requester, onBehalfOf, strangers, changed votes, settled and expired requests', () => {
    const chain = pending();
    expect(code(() => decideVote(chain, { approver: 'agent-role', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory))).toBe(
      'self_approval',
    );
    expect(code(() => decideVote(chain, { approver: 'carol', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory))).toBe(
      'self_approval',
    );
    expect(code(() => decideVote(chain, { approver: 'mallory', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory))).toBe(
      'not_found',
    );
    const voted = vote(chain, 'alice', 'approve');
    expect(code(() => decideVote(voted, { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'deny' }, NOW, directory))).toBe(
      'already_decided',
    );
    expect(
      code(() =>
        decideVote(chain, { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'approve' }, new Date('2026-01-01T01:00:00Z'), directory),
      ),
    ).toBe('already_decided');
    const expired = settle(chain, (c) => decideExpiry(c, 'late'));
    expect(code(() => decideVote(expired, { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory))).toBe(
      'already_decided',
    );
    expect(code(() => decideVote([], { approver: 'alice', via: 'decision_api', signedIn: true }, { decision: 'approve' }, NOW, directory))).toBe('not_found');
  });

  it('lets only the requester cancel a pending request, once', () => {
    const chain = pending();
    expect(code(() => decideCancel(chain, 'alice', directory))).toBe('forbidden');
    const cancelled = settle(chain, (c) => decideCancel(c, 'agent-role', directory));
    expect(deriveState(cancelled)!.outcome).toMatchObject({ status: 'cancelled', decidedBy: 'requester' });
    expect(decideCancel(cancelled, 'agent-role', directory)).toEqual([]);
    expect(code(() => decideCancel(vote(vote(pending(), 'alice', 'approve'), 'bob', 'approve'), 'agent-role', directory))).toBe('already_decided');
  });

  it('expires only an unsettled request', () => {
    expect(settle(pending(), (c) => decideExpiry(c, 'late')).at(-1)).toMatchObject({ type: 'expired', data: { decidedBy: 'timeout', reason: 'late' } });
    const approved = vote(vote(pending(), 'alice', 'approve'), 'bob', 'approve');
    expect(decideExpiry(approved, 'late')).toEqual([]);
  });
});
