/**
 * The Wake step's answer is the next Notify's TimeoutSecondsPath. Step Functions fails an execution with
 * States.Runtime (which no Catch handles) on a timeout below 1, so whatever happens around a wake (a reminder landing
 * at the deadline, a vote settling the request while reminders go out) the answer is a whole number of seconds of at
 * least 1 that does not overshoot the deadline, or `expired`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wakeRequest } from '../../lambdas/app/notify';
import { type ApprovalState, decideIntake, decideVote, deriveState, nextWait, planWake } from '../../lambdas/core/approval';
import { configSchema } from '../../lambdas/core/config';
import { IdentityDirectory } from '../../lambdas/core/identity';
import type { AuditEvent, AuditRecord } from '../../lambdas/core/ledger-record';
import type { PolicyDecidedData } from '../../lambdas/core/records';
import { workflowWaitSchema } from '../../lambdas/core/workflow';
import { memoryPorts, stampRecords } from '../fixtures/memory-ports';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const APPROVERS = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
const directory = new IdentityDirectory([]);

/** Appends events as records stamped `at` (unsigned: these tests are about the schedule, not the signatures). */
const stamp = (chain: readonly AuditRecord[], events: readonly AuditEvent[], at: Date) => stampRecords(chain, events, 'act_wake', at);

function settle(chain: AuditRecord[], decide: (c: AuditRecord[]) => AuditEvent[], at: Date): AuditRecord[] {
  for (let round = 0; round < 10; round++) {
    const events = decide(chain);
    if (events.length === 0) return chain;
    chain = stamp(chain, events.slice(0, 1), at);
  }
  throw new Error('decide never finished');
}

interface Schedule {
  timeoutSeconds: number;
  remindAfterSeconds?: number;
  escalateAfterSeconds?: number;
}

function policyOf(s: Schedule): PolicyDecidedData {
  return {
    rule: 'wake',
    effect: 'require_approval',
    requiredApprovals: 2,
    approvers: APPROVERS.slice(0, 2),
    timeoutSeconds: s.timeoutSeconds,
    expiresAt: new Date(T0 + s.timeoutSeconds * 1000).toISOString(),
    channels: ['email'],
    ...(s.remindAfterSeconds !== undefined ? { remindAfterSeconds: s.remindAfterSeconds } : {}),
    ...(s.escalateAfterSeconds !== undefined ? { escalateAfterSeconds: s.escalateAfterSeconds, escalateTo: [APPROVERS[2]!] } : {}),
  };
}

function pendingChain(s: Schedule): AuditRecord[] {
  const intake = {
    requester: 'arn:aws:iam::123456789012:role/agent',
    request: { action: 'data.export' },
    bodyCommitment: 'b',
    parametersCommitment: 'p',
    masked: [],
    policy: policyOf(s),
  };
  return settle([], (c) => decideIntake(c, intake), new Date(T0));
}

const vote = (chain: AuditRecord[], who: string, at: Date) =>
  settle(chain, (c) => decideVote(c, { approver: who, via: 'decision_api', signedIn: true }, { decision: 'approve' }, at, directory), at);

const scheduleArb = fc
  .record({
    timeoutSeconds: fc.integer({ min: 1, max: 365 * 86_400 }),
    remind: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    escalate: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  })
  .map(
    ({ timeoutSeconds, remind, escalate }): Schedule => ({
      timeoutSeconds,
      ...(remind !== undefined ? { remindAfterSeconds: Math.max(1, Math.floor(remind * timeoutSeconds)) } : {}),
      ...(escalate !== undefined ? { escalateAfterSeconds: Math.max(1, Math.floor(escalate * timeoutSeconds)) } : {}),
    }),
  );

/** The invariant: a valid TimeoutSecondsPath that never overshoots the deadline by a whole second, or expired. */
function expectValidWait(wait: { seconds: number; expired: boolean }, state: ApprovalState, now: number) {
  expect(workflowWaitSchema.safeParse(wait).success, JSON.stringify(wait)).toBe(true);
  if (wait.expired) {
    expect(state.outcome).toBeUndefined();
    expect(now).toBeGreaterThanOrEqual(Date.parse(state.policy!.expiresAt!));
    return;
  }
  expect(Number.isInteger(wait.seconds)).toBe(true);
  expect(wait.seconds).toBeGreaterThanOrEqual(1);
  if (!state.outcome) expect(wait.seconds).toBeLessThanOrEqual(Math.max(1, Math.ceil((Date.parse(state.policy!.expiresAt!) - now) / 1000)));
}

describe('planWake and nextWait', () => {
  it('never answer a wait below one second unless expired, nor one past the deadline', () => {
    fc.assert(
      fc.property(
        scheduleArb,
        fc.double({ min: -0.01, max: 1.2, noNaN: true }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        fc.constantFrom(0, 1, 2),
        (schedule, when, remindedAt, votes) => {
          let chain = pendingChain(schedule);
          const deadline = T0 + schedule.timeoutSeconds * 1000;
          const now = Math.round(T0 + when * (deadline - T0));
          if (remindedAt !== undefined)
            chain = stamp(
              chain,
              [{ type: 'reminded', actor: 'countersign', data: { channels: {}, approvers: [] } }],
              new Date(T0 + remindedAt * Math.max(0, now - T0)),
            );
          for (const who of APPROVERS.slice(0, votes)) chain = vote(chain, who, new Date(Math.min(now, deadline - 1)));
          const state = deriveState(chain)!;
          const plan = planWake(state, new Date(now), directory);
          expect(plan.expired ? plan.seconds === 0 : plan.seconds >= 1).toBe(true);
          expectValidWait(nextWait(state, new Date(now), directory), state, now);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('answer one second for a request settled during Wake, and expired when the deadline came', () => {
    const chain = pendingChain({ timeoutSeconds: 600, remindAfterSeconds: 600 });
    const settled = deriveState(vote(vote(chain, APPROVERS[0]!, new Date(T0 + 1000)), APPROVERS[1]!, new Date(T0 + 2000)))!;
    expect(nextWait(settled, new Date(T0 + 600_000), directory)).toEqual({ expired: false, seconds: 1 });
    expect(nextWait(deriveState(chain)!, new Date(T0 + 600_000), directory)).toEqual({ expired: true, seconds: 0 });
    expect(nextWait(deriveState(chain)!, new Date(T0 + 599_500), directory)).toEqual({ expired: false, seconds: 1 });
  });
});

// Wake with every port in memory and the clock in the test's hands: things happen while the reminders and
// escalations go out.
describe('Wake', () => {
  const config = configSchema.parse({
    version: 1,
    groups: { owners: { members: APPROVERS.map((id) => ({ id, email: id })) } },
    rules: [],
    default: { effect: 'deny' },
    auditors: [],
    channels: { email: { from: 'countersign@example.com' } },
    auth: {},
    mask: [],
  });

  it('answers a valid wait whatever happens while it reminds and escalates', async () => {
    await fc.assert(
      fc.asyncProperty(
        scheduleArb,
        fc.double({ min: 0, max: 1.1, noNaN: true }),
        fc.constantFrom('nothing', 'deadline', 'past-deadline', 'vote', 'settle'),
        async (schedule, when, meanwhile) => {
          const ports = memoryPorts(config);
          ports.ledger.chains.set('act_wake', pendingChain(schedule));
          const deadline = T0 + schedule.timeoutSeconds * 1000;
          ports.clock.set(Math.round(T0 + when * (deadline - T0)));
          ports.outbox.fail = () => {
            const now = ports.clock.now().getTime();
            if (meanwhile === 'deadline') ports.clock.set(Math.max(now, deadline));
            if (meanwhile === 'past-deadline') ports.clock.set(Math.max(now, deadline + 1500));
            if (meanwhile === 'vote' || meanwhile === 'settle') {
              const at = new Date(Math.min(now, deadline - 1));
              for (const who of APPROVERS.slice(0, meanwhile === 'vote' ? 1 : 2))
                ports.ledger.chains.set('act_wake', vote(ports.ledger.chains.get('act_wake')!, who, at));
            }
            return undefined;
          };
          const answer = await wakeRequest(ports, 'act_wake', Number.MAX_SAFE_INTEGER);
          expectValidWait(answer, deriveState(ports.ledger.chains.get('act_wake')!)!, ports.clock.now().getTime());
        },
      ),
      { numRuns: 300 },
    );
  });
});
