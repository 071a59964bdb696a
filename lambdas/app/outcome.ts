/**
 * Completing an outcome: once the chain holds one, issue the receipt of an approval (once), tell the waiting
 * workflow, and cache the status, as the caller's `mode` says. Safe to repeat: each use case that sees a settled
 * request may call it, and a crash between steps is repaired by the next caller (the repair job, or the workflow's
 * Finalize step).
 */
import { type ApprovalState, deriveState, statusOf } from '../core/approval';
import { parametersSalt } from '../core/commitment';
import type { AuditRecord } from '../core/ledger-record';
import type { Ports, RequestItem } from '../core/ports';
import { receiptClaimsFor, receiptExpired, signReceipt } from '../core/receipt';
import { indexGrant } from './grants';

/**
 * Who completes an outcome: `settle` (a vote, a cancel, the repair job) tells the waiting workflow and then caches
 * the status; `finalize` (the workflow's own last step) only caches it; `read` (an answer to a reader, an intake
 * decided at once) only makes sure an approval has its receipt. The cached status is written last, since it takes
 * the request out of the pending list the repair job works from: a failure before it leaves the request there.
 */
export type CompletionMode = 'settle' | 'finalize' | 'read';

export type OutcomePorts = Pick<Ports, 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock'>;

/**
 * Returns the receipt of an approval (the stored one, or one signed now), if any.
 *
 * Calls (an approval settled by a vote, with its receipt signed beside the ledger write: `known.receipt`): storeReceipt
 * (UpdateItem, answering the item: its task token, status and the receipt kept) → SendTaskSuccess → UpdateItem (the
 * cached status): 3, serial depth 3. Before: GetItem, GenerateMac, Sign, UpdateItem, SendTaskSuccess, UpdateItem: 6,
 * all serial. A deny or cancel: GetItem → SendTaskSuccess → UpdateItem (3, unchanged). `read` of an approval whose
 * receipt is stored: GetItem (1).
 */
export async function completeOutcome(
  ports: OutcomePorts,
  state: ApprovalState,
  chain: readonly AuditRecord[],
  mode: CompletionMode = 'settle',
  /** What the caller has at hand: the request's parameters salt, or the receipt it signed while the ledger wrote. */
  known: { readonly salt?: Uint8Array; readonly receipt?: string | undefined } = {},
): Promise<string | undefined> {
  const status = statusOf(state);
  if (status === 'pending') return undefined;
  let item: RequestItem | undefined;
  let receipt: string | undefined;
  if (status === 'approved' && known.receipt) {
    // Stored unless one is (the first stored is kept), and the item read back in the same call.
    item = await ports.requests.storeReceipt(state.id, known.receipt);
    receipt = item?.receipt ?? known.receipt;
  } else {
    item = await ports.requests.get(state.id);
    receipt = item?.receipt;
    if (status === 'approved' && !receipt) {
      receipt = await issueReceipt(ports, state, chain, known.salt);
      // Another settler may have stored its receipt first (the first one stored is kept): answer the stored one.
      if (item) {
        item = (await ports.requests.storeReceipt(state.id, receipt)) ?? item;
        receipt = item.receipt ?? receipt;
      }
    }
  }
  // The grant an approval made is indexed before the workflow hears, so intake finds it from then on.
  if (status === 'approved' && state.grant && mode !== 'read') await indexGrant(ports, state);
  // A stored receipt expires (an hour, or the redeem deadline): an approval not yet redeemed gets a fresh one, so an
  // executor that asks again later (a rerun with its Idempotency-Key) can still redeem it. Past a redeem deadline
  // the fresh one is expired too, and the redemption is refused as lapsed.
  if (status === 'approved' && receipt && !state.redemption && receiptExpired(receipt, ports.clock.now())) {
    const fresh = await issueReceipt(ports, state, chain, known.salt);
    item = (await ports.requests.storeReceipt(state.id, fresh, receipt)) ?? item;
    receipt = item?.receipt ?? fresh;
  }
  if (mode === 'settle' && item?.taskToken) await ports.workflow.sendOutcome(item.taskToken, status);
  if (mode !== 'read' && item && item.status !== status) await ports.requests.cacheOutcome(state.id, status);
  return receipt;
}

/**
 * A receipt for the approved request `state` (derived from `chain`): the salt derived unless given (GenerateMac),
 * then signed (Sign). It reads only the chain's content, so it can be signed while the chain's records are.
 */
export async function issueReceipt(
  ports: Pick<Ports, 'signer' | 'mac' | 'clock'>,
  state: ApprovalState,
  chain: readonly AuditRecord[],
  salt?: Uint8Array,
): Promise<string> {
  const saltOf = state.parameters?.kind === 'commitment' ? (salt ?? (await parametersSalt(ports.mac, state.id))) : undefined;
  return signReceipt(
    ports.signer,
    receiptClaimsFor(
      state,
      chain.find((r) => r.type === 'approved'),
      ports.clock.now(),
      saltOf,
    ),
  );
}

/** Work for `AuditLedger.append`'s `alongside`: the receipt, when the chain as it will be is approved. */
export function receiptAlongside(ports: Pick<Ports, 'signer' | 'mac' | 'clock'>, salt?: Uint8Array) {
  // A write that lost a race (a `notified` record landing first) plans again: the receipt it signed still holds when
  // the approval says the same, so it is not signed again (a KMS call each).
  let last: { readonly key: string; readonly receipt: Promise<string> } | undefined;
  return async (planned: readonly AuditRecord[]): Promise<string | undefined> => {
    const state = deriveState(planned);
    if (!state || statusOf(state) !== 'approved') return undefined;
    const approved = planned.find((r) => r.type === 'approved');
    const key = JSON.stringify([state.id, approved?.data ?? null]);
    if (last?.key !== key) last = { key, receipt: issueReceipt(ports, state, planned, salt) };
    return last.receipt;
  };
}
