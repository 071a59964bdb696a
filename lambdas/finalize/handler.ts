/** Finalize task: records the workflow's outcome on the request: settled by approvers, or expired at the timeout. */
import { finalizeEventSchema } from '../core/workflow';
import { settleRequest } from '../adapters/request-store';

export async function handler(event: unknown): Promise<{ status: string; changed: boolean }> {
  const { requestId, outcome, error } = finalizeEventSchema.parse(event);
  if (outcome) {
    const changed = await settleRequest(requestId, outcome.status, outcome.status === 'cancelled' ? 'requester' : 'approvers');
    return { status: outcome.status, changed };
  }
  // Fail closed: a timeout, or a notification that could not be sent, leaves nobody able to approve.
  const reason = error?.Error === 'States.Timeout' ? 'No decision before the timeout.' : 'The approvers could not be notified.';
  return { status: 'expired', changed: await settleRequest(requestId, 'expired', 'timeout', reason) };
}
