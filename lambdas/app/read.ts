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
import { completeOutcome } from './outcome';
import { markSettling } from './repair';

/**
 * How a wait watches the request: its item's cached status (one small strongly consistent read), first after
 * WAIT_FIRST_POLL_MS, each gap WAIT_POLL_GROWTH times the last, up to WAIT_MAX_POLL_MS. The chain is read once more at
 * the end, settled or not. A 20 s wait: 24 status reads and 2 chain reads (before: a chain read every 250 ms,
 * 80 in all), and it answers within WAIT_MAX_POLL_MS of the outcome being cached.
 */
export const WAIT_FIRST_POLL_MS = 100;
export const WAIT_POLL_GROWTH = 1.5;
export const WAIT_MAX_POLL_MS = 1000;

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
 * poll, then Query once more.
 */
export async function readAction(
  ports: Pick<Ports, 'ledger' | 'policy' | 'requests' | 'signer' | 'mac' | 'workflow' | 'clock'>,
  principal: string,
  id: string,
  until: number,
): Promise<{ state: ApprovalState; receipt?: string }> {
  let { state, chain } = await readableRequest(ports, principal, id);
  if (statusOf(state) === 'pending' && ports.clock.now().getTime() < until) {
    // Every settle caches the status in the item as it completes (a vote or cancel, Finalize for an expiry; an
    // intake decided at once writes it settled). One that crashed before caching it leaves the item pending until
    // the repair job completes it: the chain, read again at the end, still answers the outcome then.
    for (let gap = WAIT_FIRST_POLL_MS; ports.clock.now().getTime() < until; gap = Math.min(WAIT_MAX_POLL_MS, gap * WAIT_POLL_GROWTH)) {
      await ports.clock.sleep(Math.min(gap, until - ports.clock.now().getTime()));
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
  ports: Pick<Ports, 'ledger' | 'policy' | 'requests' | 'signer' | 'mac' | 'workflow' | 'clock'>,
  principal: string,
  id: string,
): Promise<ApprovalState> {
  const read = await readableRequest(ports, principal, id);
  await markSettling(ports, read.state.id); // a crash before the cached status leaves it to the repair job
  // Decided on the chain just read; a record appended since makes the write lose, and the ledger reads it then.
  // Query → UpdateItem (repair mark) → PutItem (signed in-process) → GetItem → SendTaskSuccess → UpdateItem: 6 calls,
  // all serial.
  const { chain } = await ports.ledger.append(read.state.id, (current) => decideCancel(current, principal, ports.policy.directory()), { known: read.chain });
  const settled = deriveState(chain)!;
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
