/**
 * Reading a request (`GET /v1/actions/{id}`, optionally waiting for its outcome), cancelling it, and reading its
 * audit trail. Only the requester, the approvers and the auditors may; to anyone else a request does not exist.
 */
import { type ApprovalState, canRead, decideCancel, deriveState, isRequester, statusOf } from '../core/approval';
import { CountersignError } from '../core/errors';
import type { AuditRecord } from '../core/ledger-record';
import type { Ports } from '../core/ports';
import { REQUEST_ID_PATTERN } from '../core/request';
import type { SigningCertificate } from '../core/signing-certificate';
import { countAppended } from './metrics';
import { completeOutcome } from './outcome';
import { markSettling } from './repair';

/**
 * How a wait watches the request: its item's cached status (one small strongly consistent read), each poll a
 * WAIT_AGE_FRACTION of the request's age after the last, at least WAIT_MIN_POLL_MS and at most WAIT_MAX_POLL_MS
 * apart (`waitPollGap`). The schedule follows the request's age, not the wait call's: an outcome lands some time after
 * the request was made, whenever the agent started waiting, so it is seen within a quarter of the request's age (and
 * within WAIT_MAX_POLL_MS), and an agent asking again and again does not poll densely at the start of every call. The
 * chain is read once more at the end, settled or not. A 20 s wait (`waitPollCount`): on a request just made, 38 status
 * reads (24 on one a second old); on one 4 s old or more, 20, one a second (before: 24 whatever its age, the first
 * 100 ms into every call); 2 chain reads either way.
 */
export const WAIT_MIN_POLL_MS = 20;
export const WAIT_AGE_FRACTION = 0.25;
export const WAIT_MAX_POLL_MS = 1000;

/** The gap before the next status read of a request `ageMs` old. */
export function waitPollGap(ageMs: number): number {
  return Math.min(WAIT_MAX_POLL_MS, Math.max(WAIT_MIN_POLL_MS, ageMs * WAIT_AGE_FRACTION));
}

/** The status reads of a wait that lasts `waitMs` on a request `ageMs` old when it starts and still pending at its end. */
export function waitPollCount(ageMs: number, waitMs: number): number {
  let polls = 0;
  for (let at = 0; at < waitMs; at += Math.min(waitPollGap(ageMs + at), waitMs - at)) polls++;
  return polls;
}

type ReadPorts = Pick<Ports, 'ledger' | 'policy'>;

/** The request as `principal` may see it: 404 both when it does not exist and when the caller may not see it. */
export async function readableRequest(ports: ReadPorts, principal: string, id: string): Promise<{ state: ApprovalState; chain: AuditRecord[] }> {
  const chain = REQUEST_ID_PATTERN.test(id) ? await ports.ledger.read(id) : [];
  const state = deriveState(chain);
  if (!state || !canRead(state, principal, ports.policy.directory())) throw new CountersignError('not_found', 'no such request');
  return { state, chain };
}

/**
 * The request, once settled or once `until` (epoch ms) comes, whichever is first; with the receipt of an approval
 * when the reader is the requester (the receipt holds the parameters salt: only the requester is shown it).
 * AWS calls: no wait, Query (+ GetItem for the requester's receipt); a wait, Query, then a GetItem of the status per
 * poll (`waitPollGap` apart), then Query once more.
 */
export async function readAction(
  ports: Pick<Ports, 'ledger' | 'policy' | 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock'>,
  principal: string,
  id: string,
  until: number,
): Promise<{ state: ApprovalState; receipt?: string }> {
  let { state, chain } = await readableRequest(ports, principal, id);
  if (statusOf(state) === 'pending' && ports.clock.now().getTime() < until) {
    // Every settle caches the status in the item as it completes (a vote or cancel, Finalize for an expiry; an
    // intake decided at once writes it settled). One that crashed before caching it leaves the item pending until
    // the repair job completes it: the chain, read again at the end, still answers the outcome then.
    const created = Date.parse(state.createdAt);
    for (let now = ports.clock.now().getTime(); now < until; now = ports.clock.now().getTime()) {
      await ports.clock.sleep(Math.min(waitPollGap(now - created), until - now));
      const status = await ports.requests.status(state.id);
      if (status !== undefined && status !== 'pending') break;
    }
    chain = await ports.ledger.read(state.id);
    state = deriveState(chain)!;
  }
  const receipt =
    statusOf(state) === 'approved' && isRequester(state, principal, ports.policy.directory())
      ? await completeOutcome(ports, state, chain, 'read') // the stored receipt, or one signed now
      : undefined;
  return { state, ...(receipt ? { receipt } : {}) };
}

/** Cancels a pending request: only its requester may. */
export async function cancelAction(
  ports: Pick<Ports, 'ledger' | 'policy' | 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock' | 'metrics'>,
  principal: string,
  id: string,
): Promise<ApprovalState> {
  const read = await readableRequest(ports, principal, id);
  await markSettling(ports, read.state.id); // a crash before the cached status leaves it to the repair job
  // Decided on the chain just read; a record appended since makes the write lose, and the ledger reads it then.
  // Query → UpdateItem (repair mark) → PutItem (signed in-process) → GetItem → SendTaskSuccess → UpdateItem: 6 calls,
  // all serial.
  const { chain, appended } = await ports.ledger.append(read.state.id, (current) => decideCancel(current, principal, ports.policy.directory()), {
    known: read.chain,
  });
  const settled = deriveState(chain)!;
  countAppended(ports.metrics, appended, settled);
  await completeOutcome(ports, settled, chain);
  return settled;
}

/** The request's whole audit chain, as stored. */
export async function readAuditTrail(ports: ReadPorts, principal: string, id: string): Promise<AuditRecord[]> {
  return (await readableRequest(ports, principal, id)).chain;
}

/** The chain and the signing certificates its records name: all a verifier needs beside the ledger's public key. */
export async function readAuditEvidence(
  ports: ReadPorts,
  principal: string,
  id: string,
): Promise<{ records: AuditRecord[]; certificates: SigningCertificate[] }> {
  const records = await readAuditTrail(ports, principal, id);
  return { records, certificates: await ports.ledger.certificates(records.map((r) => r.keyId)) };
}
