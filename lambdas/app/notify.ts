/**
 * The workflow's Notify and Wake steps. Notify asks the approvers on the rule's channels and ledgers what was sent
 * and what failed in `notified`; only when nothing at all could be sent does it fail (and the workflow fail closed
 * after its retries). A retried Notify sends nothing twice: `notified` in the ledger marks the sending done. Wake
 * escalates and reminds as due (each ledgered) and says when to wake next, or that the deadline passed.
 */
import { type ApprovalState, approversToAsk, deriveState, nextWait, planWake, statusOf } from '../core/approval';
import type { AuditRecord } from '../core/ledger-record';
import type { Ports } from '../core/ports';
import { recordEvent } from '../core/records';
import { AlreadySettledError, type WorkflowWait, workflowWaitSchema } from '../core/workflow';
import * as z from '../core/zod';
import { countAppended, countDeliveries } from './metrics';
import { approverMessages, sendAll } from './notifications';

export type NotifyPorts = Pick<Ports, 'ledger' | 'requests' | 'outbox' | 'mac' | 'policy' | 'clock' | 'publicUrl' | 'metrics'>;

type DecidedState = ApprovalState & { policy: NonNullable<ApprovalState['policy']> };

async function decidedState(ports: Pick<Ports, 'ledger'>, requestId: string): Promise<{ state: DecidedState; chain: AuditRecord[] }> {
  const chain = await ports.ledger.read(requestId);
  return { state: decided(requestId, chain), chain };
}

function decided(requestId: string, chain: readonly AuditRecord[]): DecidedState {
  const state = deriveState(chain);
  if (!state?.policy) throw new Error(`request ${requestId} has no policy decision in the ledger`);
  return state as DecidedState;
}

/** How long Notify waits, one gap after another, for an item that intake is still writing (see `notifyApprovers`). */
export const ITEM_WAITS_MS = [10, 20, 40, 80, 160, 320];

/**
 * Notify: keeps the task token server-side and asks the approvers; every send is over by `deadline` (epoch ms).
 *
 * AWS calls (records signed in-process by the environment's certified key): UpdateItem (token) → Query → per message
 * at once, GenerateMac (a personal link) → SES / Slack / Teams → PutItem (`notified`, written on the chain already
 * read: a vote since makes it read again): 3 + 2 per personal message, serial depth 5 (before: a KMS Sign per record
 * and one more Query before it, depth 7). The token is stored before
 * the chain is read, never beside it: a vote that settles after that read then finds the token and tells the workflow.
 */
export async function notifyApprovers(ports: NotifyPorts, requestId: string, taskToken: string, deadline: number): Promise<{ notified: number }> {
  // Intake stores the item and starts the workflow at once, so this step can come first: it waits for the item a
  // little (ITEM_WAITS_MS, 630 ms in all) before failing to Step Functions' retry, 2 s later.
  for (let attempt = 0; !(await ports.requests.storeTaskToken(requestId, taskToken)); attempt++) {
    if (attempt >= ITEM_WAITS_MS.length) throw new Error(`request ${requestId} has no item to keep its task token in`);
    await ports.clock.sleep(ITEM_WAITS_MS[attempt]!);
  }
  const { state, chain } = await decidedState(ports, requestId);
  // Settled before the workflow got here (e.g. cancelled at once): the workflow goes straight to its closing step.
  if (statusOf(state) !== 'pending') throw new AlreadySettledError(requestId);
  if (state.notified) return { notified: 0 };
  const approvers = approversToAsk(state, ports.policy.directory());
  const reports = await sendAll(ports.outbox, approverMessages(ports, state, approvers, 'request'), deadline);
  countDeliveries(ports.metrics, reports);
  const sent = Object.values(reports).reduce((n, r) => n + r.sent.length, 0);
  // Nobody could be asked (no channel reached anyone): fail, so the workflow retries and then fails closed.
  if (sent === 0) throw new Error(`no notification could be sent for ${requestId}`);
  await ports.ledger.append(
    requestId,
    (current) => (deriveState(current)?.notified ? [] : [recordEvent('notified', 'countersign', { channels: reports, approvers })]),
    { known: chain },
  );
  return { notified: sent };
}

/**
 * Wake: escalate and remind as due, and say when to wake next, or that the deadline passed. A settled request
 * answers a short wait: the next Notify attempt finds it settled and closes the workflow.
 *
 * AWS calls: Query, then as due: PutItem (`escalated`, on the chain read) → the escalation's messages; the
 * reminders' messages → PutItem (`reminded`); then Query once more unless the last thing done was a write,
 * whose chain is as fresh. Nothing due: Query, Query (2). Reminders: Query → messages → PutItem (before: a KMS Sign per record, and one
 * more Query before each record and one after, now none).
 */
export async function wakeRequest(ports: NotifyPorts, requestId: string, deadline: number): Promise<WorkflowWait> {
  const directory = ports.policy.directory();
  const read = await decidedState(ports, requestId);
  const { state } = read;
  let chain: AuditRecord[] = read.chain;
  if (statusOf(state) !== 'pending') return z.parse(workflowWaitSchema, nextWait(state, ports.clock.now(), directory));
  const due = planWake(state, ports.clock.now(), directory);
  if (due.expired) return z.parse(workflowWaitSchema, nextWait(state, ports.clock.now(), directory));
  // Whether `chain` is as fresh as a read now would be: records were just written on it, nothing sent since.
  let fresh = false;
  if (due.escalate.length > 0) {
    // Record first: the escalated approvers may vote as soon as they are asked.
    let appended: AuditRecord[];
    ({ chain, appended } = await ports.ledger.append(
      requestId,
      (current) => (deriveState(current)?.escalatedTo ? [] : [recordEvent('escalated', 'countersign', { approvers: [...due.escalate] })]),
      { known: chain },
    ));
    countAppended(ports.metrics, appended, state);
    countDeliveries(ports.metrics, await sendAll(ports.outbox, approverMessages(ports, decided(requestId, chain), due.escalate, 'escalation'), deadline));
  }
  if (due.remind.length > 0) {
    const reports = await sendAll(ports.outbox, approverMessages(ports, state, due.remind, 'reminder'), deadline);
    countDeliveries(ports.metrics, reports);
    // Recorded once per round: if another Wake attempt recorded a reminder since this one read the chain, skip.
    const reminded = await ports.ledger.append(
      requestId,
      (current) =>
        deriveState(current)?.remindedAt !== state.remindedAt
          ? []
          : [recordEvent('reminded', 'countersign', { channels: reports, approvers: [...due.remind] })],
      { known: chain },
    );
    chain = reminded.chain;
    countAppended(ports.metrics, reminded.appended, state);
    fresh = reminded.appended.length > 0;
  }
  // Asked again from the chain as it is now: a vote may have settled the request meanwhile, and the deadline may
  // have come while the reminders went out (then Wake reports it expired, never a wait of 0).
  if (!fresh) chain = await ports.ledger.read(requestId);
  return z.parse(workflowWaitSchema, nextWait(deriveState(chain)!, ports.clock.now(), directory));
}
