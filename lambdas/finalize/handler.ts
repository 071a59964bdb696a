/**
 * Finalize and Expire tasks: make sure the ledger holds the outcome (an expiry when the timeout fired first), then
 * complete it (receipt, cached status). Callback task: tell the requester. Step Functions retries each step.
 */
import { decideExpiry, decideSettlement, deriveState, publicView, statusOf, type ApprovalState } from '../core/approval';
import { callbackUrlProblem } from '../core/callback';
import { CALLBACK_REFUSED_ERROR, finalizeEventSchema } from '../core/workflow';
import { sendCallback } from '../adapters/callback';
import { callbackNetwork } from '../adapters/environment';
import { deployedConfig } from '../adapters/deployed-config';
import { completeOutcome, ledger } from '../adapters/ledger';
import { deliver } from '../adapters/outbox';
import { slackUsersOf } from '../core/slack';
import { getRequestItem } from '../adapters/request-store';

export async function handler(event: unknown): Promise<{ status: string }> {
  const { requestId, error, callback } = finalizeEventSchema.parse(event);
  if (callback) return tellRequester(requestId);
  // Fail closed: a timeout, or approvers that could not be notified, leaves nobody able to approve.
  // (An AlreadySettled error finds the outcome in the ledger, so no expiry is appended.)
  const reason = !error ? undefined : error.Error === 'States.Timeout' ? 'No decision before the timeout.' : 'The approvers could not be notified.';
  const { chain } = await ledger().append(requestId, (current) => [...decideSettlement(current), ...(reason ? decideExpiry(current, reason) : [])].slice(0, 1));
  const state = deriveState(chain);
  if (!state) throw new Error(`request ${requestId} has no ledger records`);
  await completeOutcome(state, chain, 'finalize');
  return { status: statusOf(state) };
}

class CallbackRefusedError extends Error {
  override name = CALLBACK_REFUSED_ERROR;
}

/** The callback URL gets the signed outcome; the requester and onBehalfOf get a Slack DM when bound to a Slack user. */
async function tellRequester(requestId: string): Promise<{ status: string }> {
  const state = deriveState(await ledger().read(requestId));
  if (!state) throw new Error(`request ${requestId} has no ledger records`);
  const status = statusOf(state);
  await slackDms(state).catch((err: unknown) => console.warn(JSON.stringify({ level: 'warn', msg: 'requester Slack DM failed', requestId, error: String((err as Error).name) })));
  const url = state.request.callbackUrl;
  if (url) {
    const problem = callbackUrlProblem(url, callbackNetwork());
    if (problem) throw new CallbackRefusedError(`callback URL refused: ${problem}`);
    const view = publicView(state, (await getRequestItem(requestId))?.receipt);
    await sendCallback(url, {
      id: state.id,
      status,
      action: state.request.action,
      ...(view.decidedBy ? { decidedBy: view.decidedBy } : {}),
      ...(view.decidedAt ? { decidedAt: view.decidedAt } : {}),
      ...(view.reason ? { reason: view.reason } : {}),
      ...(view.receipt ? { receipt: view.receipt } : {}),
    }, callbackNetwork());
  }
  return { status };
}

async function slackDms(state: ApprovalState): Promise<void> {
  const config = deployedConfig();
  if (!config.channels.slack) return;
  const people = [state.requester, state.request.onBehalfOf].filter((p): p is string => p !== undefined);
  const status = statusOf(state);
  // Only unambiguous Slack bindings, as for approvers. All at once: together they take one delivery's time at most
  // (DELIVERY_TIMEOUT_MS), which the function's timeout leaves room for beside the callback.
  const text = `Your request ${state.request.action} (${state.id}) is ${status}.`;
  const results = await Promise.allSettled(
    [...new Set(people.flatMap((p) => slackUsersOf(config, p)))].map((userId) =>
      // Countersign's own words only; the action name is constrained to [a-z0-9_.:-], so it cannot format.
      deliver({ channel: 'slack', to: userId, subject: text, text, actionId: state.id, payload: { channel: userId, text, unfurl_links: false, unfurl_media: false } }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
