/** The deployment's audit ledger and the outcome side effects every handler shares, created once per cold start. */
import { SendTaskSuccessCommand, TaskTimedOut, InvalidToken } from '@aws-sdk/client-sfn';
import { statusOf, type ApprovalState } from '../core/approval';
import type { AuditRecord } from '../core/audit';
import { parametersHash, type ReceiptClaims } from '../core/receipt';
import { AuditLedgerStore } from './audit-ledger';
import { dynamo, kms, requiredEnv, sfn } from './aws-clients';
import { signReceipt } from './receipt-signer';
import { cacheOutcome, getRequestItem } from './request-store';

let store: AuditLedgerStore | undefined;

export function ledger(): AuditLedgerStore {
  const writeWindow = Number(process.env.LEDGER_WRITE_WINDOW_SECONDS);
  store ??= new AuditLedgerStore({
    tableName: requiredEnv('LEDGER_TABLE'),
    keyId: requiredEnv('LEDGER_KEY_ID'),
    dynamo,
    kms,
    ...(Number.isFinite(writeWindow) && writeWindow > 0 ? { writeWindowSeconds: writeWindow } : {}),
  });
  return store;
}

/** How long a receipt proves an approval: a downstream service should act on it soon after. */
export const RECEIPT_LIFETIME_SECONDS = 3600;

function receiptClaims(state: ApprovalState, approvedRecord: AuditRecord | undefined, now: Date): ReceiptClaims {
  const approvers = (approvedRecord?.data.approvers as string[] | undefined) ?? [];
  const iat = Math.floor(now.getTime() / 1000);
  return {
    iss: 'countersign',
    sub: state.id,
    action: state.request.action,
    ...(state.request.resource !== undefined ? { resource: state.request.resource } : {}),
    ...(state.request.environment !== undefined ? { environment: state.request.environment } : {}),
    // The hash of the unmasked parameters, recorded at intake: the ledger itself only holds them masked.
    paramsSha256: state.parametersSha256 ?? parametersHash(state.request.parameters ?? {}),
    requester: state.requester,
    approvers,
    rule: state.policy?.rule ?? 'default',
    iat,
    exp: iat + RECEIPT_LIFETIME_SECONDS,
  };
}

/**
 * Once the chain holds an outcome: issue the receipt of an approval (once), cache the outcome, and tell the waiting
 * workflow. Safe to repeat: each handler that sees a settled request may call it, and a crash between steps is
 * repaired by the next caller (ultimately the workflow's Finalize step). Returns the receipt, if any.
 */
export async function completeOutcome(state: ApprovalState, chain: readonly AuditRecord[], settleWorkflow = true): Promise<string | undefined> {
  const status = statusOf(state);
  if (status === 'pending') return undefined;
  const item = await getRequestItem(state.id);
  let receipt = item?.receipt;
  if (status === 'approved' && !receipt) {
    receipt = await signReceipt(kms, requiredEnv('LEDGER_KEY_ID'), receiptClaims(state, chain.find((r) => r.type === 'approved'), new Date()));
  }
  const signedNow = receipt !== undefined && receipt !== item?.receipt;
  if (item && (item.status !== status || signedNow)) await cacheOutcome(state.id, status, receipt);
  if (settleWorkflow && item?.taskToken) await sendOutcome(item.taskToken, status);
  // Another settler may have stored its receipt first (the first one stored is kept): answer the stored one.
  return signedNow ? ((await getRequestItem(state.id))?.receipt ?? receipt) : receipt;
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
