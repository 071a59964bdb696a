/**
 * The workflow's Notify and Wake steps. Notify asks the approvers on the rule's channels and ledgers what was sent
 * and what failed in `notified`; only when nothing at all could be sent does it fail (and the workflow fail closed
 * after its retries). A retried Notify sends nothing twice: `notified` in the ledger marks the sending done. Wake
 * escalates and reminds as due (each ledgered) and says when to wake next, or that the deadline passed.
 */
import { type ApprovalState, approversToAsk, deriveState, nextWait, planWake, statusOf } from '../core/approval';
import type { Ports } from '../core/ports';
import { recordEvent } from '../core/records';
import { AlreadySettledError, type WorkflowWait, workflowWaitSchema } from '../core/workflow';
import { approverMessages, sendAll } from './notifications';

export type NotifyPorts = Pick<Ports, 'ledger' | 'requests' | 'outbox' | 'mac' | 'policy' | 'clock' | 'publicUrl'>;

async function decidedState(ports: Pick<Ports, 'ledger'>, requestId: string): Promise<ApprovalState & { policy: NonNullable<ApprovalState['policy']> }> {
  const state = deriveState(await ports.ledger.read(requestId));
  if (!state?.policy) throw new Error(`request ${requestId} has no policy decision in the ledger`);
  return state as ApprovalState & { policy: NonNullable<ApprovalState['policy']> };
}

/** Notify: keeps the task token server-side and asks the approvers; every send is over by `deadline` (epoch ms). */
export async function notifyApprovers(ports: NotifyPorts, requestId: string, taskToken: string, deadline: number): Promise<{ notified: number }> {
  await ports.requests.storeTaskToken(requestId, taskToken);
  const state = await decidedState(ports, requestId);
  // Settled before the workflow got here (e.g. cancelled at once): the workflow goes straight to its closing step.
  if (statusOf(state) !== 'pending') throw new AlreadySettledError(requestId);
  if (state.notified) return { notified: 0 };
  const approvers = approversToAsk(state, ports.policy.directory());
  const reports = await sendAll(ports.outbox, approverMessages(ports, state, approvers, 'request'), deadline);
  const sent = Object.values(reports).reduce((n, r) => n + r.sent.length, 0);
  // Nobody could be asked (no channel reached anyone): fail, so the workflow retries and then fails closed.
  if (sent === 0) throw new Error(`no notification could be sent for ${requestId}`);
  await ports.ledger.append(requestId, (current) =>
    deriveState(current)?.notified ? [] : [recordEvent('notified', 'countersign', { channels: reports, approvers })],
  );
  return { notified: sent };
}

/**
 * Wake: escalate and remind as due, and say when to wake next, or that the deadline passed. A settled request
 * answers a short wait: the next Notify attempt finds it settled and closes the workflow.
 */
export async function wakeRequest(ports: NotifyPorts, requestId: string, deadline: number): Promise<WorkflowWait> {
  const directory = ports.policy.directory();
  const state = await decidedState(ports, requestId);
  if (statusOf(state) !== 'pending') return workflowWaitSchema.parse(nextWait(state, ports.clock.now(), directory));
  const due = planWake(state, ports.clock.now(), directory);
  if (due.expired) return workflowWaitSchema.parse(nextWait(state, ports.clock.now(), directory));
  if (due.escalate.length > 0) {
    // Record first: the escalated approvers may vote as soon as they are asked.
    await ports.ledger.append(requestId, (current) =>
      deriveState(current)?.escalatedTo ? [] : [recordEvent('escalated', 'countersign', { approvers: [...due.escalate] })],
    );
    const escalated = await decidedState(ports, requestId);
    await sendAll(ports.outbox, approverMessages(ports, escalated, due.escalate, 'escalation'), deadline);
  }
  if (due.remind.length > 0) {
    const reports = await sendAll(ports.outbox, approverMessages(ports, state, due.remind, 'reminder'), deadline);
    // Recorded once per round: if another Wake attempt recorded a reminder since this one read the chain, skip.
    await ports.ledger.append(requestId, (current) =>
      deriveState(current)?.remindedAt !== state.remindedAt ? [] : [recordEvent('reminded', 'countersign', { channels: reports, approvers: [...due.remind] })],
    );
  }
  // Asked again from the chain as it is now: a vote may have settled the request meanwhile, and the deadline may
  // have come while the reminders went out (then Wake reports it expired, never a wait of 0).
  return workflowWaitSchema.parse(nextWait(deriveState(await ports.ledger.read(requestId))!, ports.clock.now(), directory));
}
