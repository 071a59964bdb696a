/**
 * One-time redemption (`POST /v1/actions/{id}/redeem`): the requester's executor hands back the approval's receipt
 * before it runs the action, and the ledger records that once. The first redemption appends `executed`; every later
 * one is refused with `already_redeemed`, so an approved action runs at most once however many executors hold its
 * receipt. The decision is `decideRedemption` on the chain, so concurrent redemptions race on the chain's next seq.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decideRedemption, deriveState, isRequester, REDEMPTION_REFUSALS, redeemDeadline } from '../core/approval';
import { CountersignError } from '../core/errors';
import type { Ports } from '../core/ports';
import { ReceiptError, verifyReceipt } from '../core/receipt';
import * as z from '../core/zod';
import { readableRequest } from './read';

/** Longest compact receipt accepted: receipts are a few KiB; the cap only bounds the work a body can ask for. */
export const MAX_RECEIPT_LENGTH = 64 * 1024;

/** The redeem body (docs/api.md "POST /v1/actions/{id}/redeem"): strict, so a misspelt field is refused, not ignored. */
export const redeemBodySchema = z.strictObject({
  receipt: z.string().check(z.minLength(1), z.maxLength(MAX_RECEIPT_LENGTH)),
  parametersCommitment: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'))),
});
export type RedeemBody = z.infer<typeof redeemBodySchema>;

/** The answer of a redemption that was recorded. */
export interface RedeemAnswer {
  readonly id: string;
  readonly redeemedAt: string;
  readonly redeemedBy: string;
}

export const receiptSha256 = (receipt: string): string => createHash('sha256').update(receipt, 'utf8').digest('hex');

/**
 * Redeems the request's receipt as `principal`. Throws the API's CountersignErrors: not_found (no such request, or
 * the caller may not read it), forbidden (an approver or auditor), invalid_request (a receipt that does not verify
 * with the ledger key, or has expired), receipt_mismatch, redemption_lapsed (the rule's `redeemWithin` passed),
 * parameters_mismatch, already_redeemed. Counts each answer (Redemptions by Result).
 *
 * AWS calls: Query → (GetPublicKey, once per environment) → PutItem (the `executed` record, signed in-process): 2
 * calls, serial. A loser of a race reads the tail again (Query) and is refused.
 */
export async function redeemReceipt(
  ports: Pick<Ports, 'ledger' | 'policy' | 'signer' | 'clock' | 'metrics'>,
  principal: string,
  id: string,
  body: RedeemBody,
): Promise<RedeemAnswer> {
  try {
    const answer = await redeem(ports, principal, id, body);
    ports.metrics.count('redemptions', { Result: 'redeemed' });
    return answer;
  } catch (err) {
    // `already_redeemed` has a Result of its own; every other refusal, a caller who is not the requester's too, is `refused`.
    if (err instanceof CountersignError && err.code === 'already_redeemed') ports.metrics.count('redemptions', { Result: 'already_redeemed' });
    else if (err instanceof CountersignError && (REDEMPTION_REFUSALS.has(err.code) || err.code === 'forbidden'))
      ports.metrics.count('redemptions', { Result: 'refused' });
    throw err;
  }
}

async function redeem(ports: Pick<Ports, 'ledger' | 'policy' | 'signer' | 'clock'>, principal: string, id: string, body: RedeemBody): Promise<RedeemAnswer> {
  const directory = ports.policy.directory();
  const read = await readableRequest(ports, principal, id);
  // Only the requester learns anything about the receipt: an approver or auditor is refused before it is looked at.
  if (!isRequester(read.state, principal, directory)) throw new CountersignError('forbidden', 'only the requester can redeem a receipt');
  const now = ports.clock.now();
  const publicKey = await ports.signer.publicKeyPem();
  let claims: ReturnType<typeof verifyReceipt>;
  try {
    claims = verifyReceipt(body.receipt, publicKey, { now });
  } catch (err) {
    if (!(err instanceof ReceiptError)) throw err;
    // Under redeemWithin a receipt expires when its approval lapses, as of the approval it was signed beside (a
    // record re-stamped on a slow write moves the deadline a little later): the ledger's deadline decides, in
    // decideRedemption, after it checked the receipt is this request's. Past it, the answer is that the approval lapsed.
    const windowed = read.state.lapse !== undefined || redeemDeadline(read.state) !== undefined;
    if (err.code !== 'expired' || !windowed)
      throw new CountersignError('invalid_request', `the receipt does not verify: ${err.message}`, [{ path: 'receipt', message: err.code }]);
    claims = verifyReceipt(body.receipt, publicKey, { now: new Date(0) });
  }
  const ask = {
    redeemer: principal,
    redemptionId: `rdm_${randomBytes(16).toString('base64url')}`,
    claims,
    receiptSha256: receiptSha256(body.receipt),
    ...(body.parametersCommitment !== undefined ? { parametersCommitment: body.parametersCommitment } : {}),
    now,
  };
  const { chain } = await ports.ledger.append(read.state.id, (current) => decideRedemption(current, ask, directory), { known: read.chain });
  // decideRedemption only lets the append succeed with a redemption on the chain (this one's own record).
  const redemption = deriveState(chain)?.redemption;
  if (!redemption) throw new Error('the ledger accepted a redemption but its chain records none');
  return { id: read.state.id, redeemedAt: redemption.at, redeemedBy: redemption.by };
}
