/** The deployment's audit ledger and the outcome side effects every handler shares, created once per cold start. */
import { SendTaskSuccessCommand, TaskTimedOut, InvalidToken } from '@aws-sdk/client-sfn';
import { statusOf, type ApprovalState } from '../core/approval';
import type { AuditRecord } from '../core/audit';
import { parametersHash, type ReceiptClaims } from '../core/receipt';
import { parametersSalt } from '../core/commitment';
import type { MacPort } from '../core/review-token';
import { AuditLedgerStore } from './audit-ledger';
import { kmsMac } from './kms-mac';
import { dynamo, kms, requiredEnv, sfn } from './aws-clients';
import { secondsEnv } from './environment';
import { signReceipt } from './receipt-signer';
import { cacheOutcome, getRequestItem, storeReceipt } from './request-store';

let store: AuditLedgerStore | undefined;

export function ledger(): AuditLedgerStore {
  const writeWindow = secondsEnv('ledgerWriteWindow') ?? Number.NaN;
  store ??= new AuditLedgerStore({
    tableName: requiredEnv('ledgerTable'),
    keyId: requiredEnv('ledgerKeyId'),
    dynamo,
    kms,
    ...(Number.isFinite(writeWindow) && writeWindow > 0 ? { writeWindowSeconds: writeWindow } : {}),
  });
  return store;
}

/** The deployment's secret MAC key (KMS HMAC): review tokens, request ids and parameters salts. */
export function requestSecrets(): MacPort {
  return kmsMac(kms, requiredEnv('reviewKeyId'));
}

/** How long a receipt proves an approval: a downstream service should act on it soon after. */
export const RECEIPT_LIFETIME_SECONDS = 3600;

async function receiptClaims(state: ApprovalState, approvedRecord: AuditRecord | undefined, now: Date, salt?: Uint8Array): Promise<ReceiptClaims> {
  const approvers = (approvedRecord?.data.approvers as string[] | undefined) ?? [];
  const iat = Math.floor(now.getTime() / 1000);
  return {
    iss: 'countersign',
    sub: state.id,
    action: state.request.action,
    ...(state.request.resource !== undefined ? { resource: state.request.resource } : {}),
    ...(state.request.environment !== undefined ? { environment: state.request.environment } : {}),
    // The commitment to the unmasked parameters, recorded at intake (the ledger itself only holds them masked), with
    // its salt: the receipt goes to the requester only.
    ...(state.parameters?.kind === 'commitment'
      ? { paramsHmac: state.parameters.value, paramsSalt: Buffer.from(salt ?? (await parametersSalt(requestSecrets(), state.id))).toString('base64url') }
      : { paramsSha256: state.parameters?.value ?? parametersHash(state.request.parameters ?? {}) }),
    requester: state.requester,
    approvers,
    // Explicit for downstream checks (`receipt verify --approved-by-humans`), beside the approvers list.
    ...(state.outcome?.decidedBy === 'policy' || state.outcome?.decidedBy === 'approvers' ? { decidedBy: state.outcome.decidedBy } : {}),
    rule: state.policy?.rule ?? 'default',
    iat,
    exp: iat + RECEIPT_LIFETIME_SECONDS,
  };
}

/**
 * Who completes an outcome: `settle` (a vote, a cancel, the repair job) tells the waiting workflow and then caches
 * the status; `finalize` (the workflow's own last step) only caches it; `read` (an answer to a reader, an intake
 * decided at once) only makes sure an approval has its receipt. The cached status is written last, since it takes
 * the request out of the pending index the repair job works from: a failure before it leaves the request there.
 */
export type CompletionMode = 'settle' | 'finalize' | 'read';

/**
 * Once the chain holds an outcome: issue the receipt of an approval (once), tell the waiting workflow, cache the
 * outcome, as `mode` says. Safe to repeat: each handler that sees a settled request may call it, and a crash between
 * steps is repaired by the next caller (the repair job, or the workflow's Finalize step). Returns the receipt, if any.
 */
export async function completeOutcome(
  state: ApprovalState,
  chain: readonly AuditRecord[],
  mode: CompletionMode = 'settle',
  /** The request's parameters salt when the caller derived it already (intake), to spare a KMS call. */
  known: { readonly salt?: Uint8Array } = {},
): Promise<string | undefined> {
  const status = statusOf(state);
  if (status === 'pending') return undefined;
  const item = await getRequestItem(state.id);
  let receipt = item?.receipt;
  if (status === 'approved' && !receipt) {
    receipt = await signReceipt(kms, requiredEnv('ledgerKeyId'), await receiptClaims(state, chain.find((r) => r.type === 'approved'), new Date(), known.salt));
    // Another settler may have stored its receipt first (the first one stored is kept): answer the stored one.
    if (item) receipt = await storeReceipt(state.id, receipt);
  }
  if (mode === 'settle' && item?.taskToken) await sendOutcome(item.taskToken, status);
  if (mode !== 'read' && item && item.status !== status) await cacheOutcome(state.id, status);
  return receipt;
}

/** SendTaskSuccess with the outcome; a token already used or timed out means the workflow has moved on. */
export async function sendOutcome(taskToken: string, status: string): Promise<void> {
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ status }) }));
  } catch (err) {
    if (err instanceof TaskTimedOut || err instanceof InvalidToken) return;
    throw err;
  }
}
