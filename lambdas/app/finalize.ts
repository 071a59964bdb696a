/**
 * The workflow's closing steps. Finalize (and Expire) make sure the ledger holds the outcome, an expiry when the
 * timeout fired or the approvers could not be notified (fail closed), then complete it. Callback tells the
 * requester: a Slack DM when bound to a Slack user, and the signed outcome at the request's callback URL.
 */
import { decideExpiry, decideLapse, decideSettlement, deriveState, publicView, redeemDeadline, statusOf } from '../core/approval';
import { type CallbackNetwork, callbackUrlProblem } from '../core/callback';
import type { CallbackSender, Ports } from '../core/ports';
import { CALLBACK_REFUSED_ERROR, type Finalized, waitTimestamp } from '../core/workflow';
import { countAppended } from './metrics';
import { deliverAll, requesterNotices } from './notifications';
import { completeOutcome } from './outcome';

/** Why the workflow ended without a vote, as it reports it: its timeout, or Notify's failure. */
export type WorkflowEnd = { readonly Error: string } | undefined;

export async function finalizeRequest(
  ports: Pick<Ports, 'ledger' | 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock' | 'metrics'>,
  requestId: string,
  error: WorkflowEnd,
): Promise<Finalized> {
  // (An AlreadySettled error finds the outcome in the ledger, so no expiry is appended.)
  const reason = !error ? undefined : error.Error === 'States.Timeout' ? 'No decision before the timeout.' : 'The approvers could not be notified.';
  const { chain, appended } = await ports.ledger.append(requestId, (current) =>
    [...decideSettlement(current), ...(reason ? decideExpiry(current, reason) : [])].slice(0, 1),
  );
  const state = deriveState(chain);
  if (!state) throw new Error(`request ${requestId} has no ledger records`);
  countAppended(ports.metrics, appended, state);
  await completeOutcome(ports, state, chain, 'finalize');
  // The workflow then waits out the redeem window (a Wait step) and runs the Lapse step.
  const deadline = !state.redemption && !state.lapse ? redeemDeadline(state) : undefined;
  return { status: statusOf(state), ...(deadline ? { redeemBy: waitTimestamp(deadline) } : {}) };
}

/** The Lapse step woke before the redeem deadline (clocks differ): Step Functions retries it. */
export class RedeemWindowOpenError extends Error {
  override name = 'Countersign.RedeemWindowOpen';
}

/**
 * The workflow's Lapse step, after its Wait for the redeem deadline: an approval nobody redeemed lapses (`expired`,
 * reason `not redeemed`, through `decideLapse` on the chain, so it races a redemption fairly), and its status is
 * cached as `expired`. A redeemed approval is left as it is.
 */
export async function lapseApproval(
  ports: Pick<Ports, 'ledger' | 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock' | 'metrics'>,
  requestId: string,
): Promise<{ status: string }> {
  const { chain, appended } = await ports.ledger.append(requestId, (current) => decideLapse(current, ports.clock.now()));
  const state = deriveState(chain);
  if (!state) throw new Error(`request ${requestId} has no ledger records`);
  if (appended.length > 0) ports.metrics.count('redemptions', { Result: 'lapsed' });
  const deadline = redeemDeadline(state);
  if (!state.redemption && !state.lapse && deadline) throw new RedeemWindowOpenError(`request ${requestId} may be redeemed until ${deadline.toISOString()}`);
  await completeOutcome(ports, state, chain, 'finalize');
  return { status: statusOf(state) };
}

export class CallbackRefusedError extends Error {
  override name = CALLBACK_REFUSED_ERROR;
}

/** Where callbacks go: the sender, and the network this deployment may reach. */
export interface Callbacks {
  readonly sender: CallbackSender;
  readonly network: CallbackNetwork;
}

/** The requester's Slack DMs (a failure is reported to `onNoticeFailure`, never fatal), then the callback. */
export async function tellRequester(
  ports: Pick<Ports, 'ledger' | 'requests' | 'outbox' | 'policy' | 'metrics'>,
  callbacks: Callbacks,
  requestId: string,
  onNoticeFailure: (err: unknown) => void,
): Promise<{ status: string }> {
  const state = deriveState(await ports.ledger.read(requestId));
  if (!state) throw new Error(`request ${requestId} has no ledger records`);
  const status = statusOf(state);
  // All at once: together they take one delivery's time at most, which the function's timeout leaves room for
  // beside the callback.
  await deliverAll(ports.outbox, requesterNotices(ports.policy.config(), state), ports.metrics).catch(onNoticeFailure);
  const url = state.request.callbackUrl;
  if (url) {
    const problem = callbackUrlProblem(url, callbacks.network);
    if (problem) {
      ports.metrics.count('callbackFailures', {});
      throw new CallbackRefusedError(`callback URL refused: ${problem}`);
    }
    const view = publicView(state, (await ports.requests.get(requestId))?.receipt);
    await callbacks.sender
      .send(url, {
        id: state.id,
        status,
        action: state.request.action,
        ...(view.decidedBy ? { decidedBy: view.decidedBy } : {}),
        ...(view.decidedAt ? { decidedAt: view.decidedAt } : {}),
        ...(view.reason ? { reason: view.reason } : {}),
        ...(view.receipt ? { receipt: view.receipt } : {}),
      })
      .catch((err: unknown) => {
        // Each failed attempt (Step Functions retries the Callback step).
        ports.metrics.count('callbackFailures', {});
        throw err;
      });
  }
  return { status };
}
