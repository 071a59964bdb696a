/**
 * Completing an outcome: once the chain holds one, issue the receipt of an approval (once), tell the waiting
 * workflow, and cache the status, as the caller's `mode` says. Safe to repeat: each use case that sees a settled
 * request may call it, and a crash between steps is repaired by the next caller (the repair job, or the workflow's
 * Finalize step).
 */
import { type ApprovalState, statusOf } from '../core/approval';
import { parametersSalt } from '../core/commitment';
import type { AuditRecord } from '../core/ledger-record';
import type { Ports } from '../core/ports';
import { receiptClaimsFor, signReceipt } from '../core/receipt';

/**
 * Who completes an outcome: `settle` (a vote, a cancel, the repair job) tells the waiting workflow and then caches
 * the status; `finalize` (the workflow's own last step) only caches it; `read` (an answer to a reader, an intake
 * decided at once) only makes sure an approval has its receipt. The cached status is written last, since it takes
 * the request out of the pending list the repair job works from: a failure before it leaves the request there.
 */
export type CompletionMode = 'settle' | 'finalize' | 'read';

export type OutcomePorts = Pick<Ports, 'requests' | 'signer' | 'mac' | 'workflow' | 'clock'>;

/** Returns the receipt of an approval (the stored one, or one signed now), if any. */
export async function completeOutcome(
  ports: OutcomePorts,
  state: ApprovalState,
  chain: readonly AuditRecord[],
  mode: CompletionMode = 'settle',
  /** The request's parameters salt when the caller derived it already (intake), to spare a KMS call. */
  known: { readonly salt?: Uint8Array } = {},
): Promise<string | undefined> {
  const status = statusOf(state);
  if (status === 'pending') return undefined;
  const item = await ports.requests.get(state.id);
  let receipt = item?.receipt;
  if (status === 'approved' && !receipt) {
    const salt = state.parameters?.kind === 'commitment' ? (known.salt ?? (await parametersSalt(ports.mac, state.id))) : undefined;
    receipt = await signReceipt(
      ports.signer,
      receiptClaimsFor(
        state,
        chain.find((r) => r.type === 'approved'),
        ports.clock.now(),
        salt,
      ),
    );
    // Another settler may have stored its receipt first (the first one stored is kept): answer the stored one.
    if (item) receipt = await ports.requests.storeReceipt(state.id, receipt);
  }
  if (mode === 'settle' && item?.taskToken) await ports.workflow.sendOutcome(item.taskToken, status);
  if (mode !== 'read' && item && item.status !== status) await ports.requests.cacheOutcome(state.id, status);
  return receipt;
}
