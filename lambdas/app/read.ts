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

/** How often a wait looks at the chain again. */
export const WAIT_POLL_MS = 250;

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
 */
export async function readAction(
  ports: Pick<Ports, 'ledger' | 'policy' | 'requests' | 'signer' | 'mac' | 'workflow' | 'clock'>,
  principal: string,
  id: string,
  until: number,
): Promise<{ state: ApprovalState; receipt?: string }> {
  let { state, chain } = await readableRequest(ports, principal, id);
  while (statusOf(state) === 'pending' && ports.clock.now().getTime() < until) {
    await ports.clock.sleep(Math.min(WAIT_POLL_MS, until - ports.clock.now().getTime()));
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
  const { state } = await readableRequest(ports, principal, id);
  await markSettling(ports, state.id); // a crash before the cached status leaves it to the repair job
  const { chain } = await ports.ledger.append(state.id, (current) => decideCancel(current, principal, ports.policy.directory()));
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
