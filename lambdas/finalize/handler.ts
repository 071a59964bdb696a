/**
 * Finalize and Expire tasks: make sure the ledger holds the outcome (an expiry when the timeout fired first), then
 * complete it (receipt, cached status). Step Functions retries this step until it succeeds.
 */
import { decideExpiry, decideSettlement, deriveState, statusOf } from '../core/approval';
import { finalizeEventSchema } from '../core/workflow';
import { completeOutcome, ledger } from '../adapters/ledger';

export async function handler(event: unknown): Promise<{ status: string }> {
  const { requestId, error } = finalizeEventSchema.parse(event);
  // Fail closed: a timeout, or approvers that could not be notified, leaves nobody able to approve.
  const reason = !error ? undefined : error.Error === 'States.Timeout' ? 'No decision before the timeout.' : 'The approvers could not be notified.';
  // (An AlreadySettled error finds the outcome in the ledger, so no expiry is appended.)
  const { chain } = await ledger().append(requestId, (current) => [...decideSettlement(current), ...(reason ? decideExpiry(current, reason) : [])].slice(0, 1));
  const state = deriveState(chain);
  if (!state) throw new Error(`request ${requestId} has no ledger records`);
  await completeOutcome(state, chain, false);
  return { status: statusOf(state) };
}
