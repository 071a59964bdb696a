/**
 * Asking for an action (`POST /v1/actions`): policy decides at once (allow, deny) or asks approvers; either way the
 * request and the decision are ledgered first, then the request item is stored and the approval workflow started.
 * A retry with the same Idempotency-Key lands on the same request and changes nothing.
 *
 * AWS calls, fresh random id (no Idempotency-Key), by serial step (`‖` runs at once), records signed in-process by
 * the environment's certified key (`bench/roundtrips.ts` counts them):
 *   allowed: GenerateMac (salt) → Sign (the receipt, KMS) → TransactWriteItems → PutItem (item, with the receipt):
 *            4 calls, serial depth 4 (before: 12 calls, all serial: GenerateMac, Query, 3 × (Sign, PutItem), PutItem,
 *            GetItem, Sign, UpdateItem).
 *   denied:  GenerateMac → TransactWriteItems → PutItem: 3 calls, depth 3 (before: 10, all serial).
 *   pending: GenerateMac → TransactWriteItems → PutItem ‖ StartExecution: 4 calls, depth 3 (before: 8, all serial).
 * With an Idempotency-Key, one GenerateMac (the id) comes first and the chain is read (Query) beside the salt: +2
 * calls, +1 depth. The request item is written once, never read back.
 */
import { randomBytes } from 'node:crypto';
import { type ApprovalState, decideIntake, deriveState, pendingSummaryOf, statusOf } from '../core/approval';
import { type CallbackNetwork, callbackUrlProblem } from '../core/callback';
import { commitment, idempotentRequestId, parametersSalt } from '../core/commitment';
import { CountersignError } from '../core/errors';
import { onBehalfOfIdentity } from '../core/identity';
import { maskRequest } from '../core/masking';
import { evaluatePolicy, maskPathsOf, policyDecidedData, refusalError } from '../core/policy';
import type { Ports } from '../core/ports';
import type { ActionRequest } from '../core/request';
import { grantCovering } from './grants';
import { countAppended } from './metrics';
import { issueReceipt, receiptAlongside } from './outcome';

export interface AskInput {
  /** The caller, in canonical spelling. */
  readonly requester: string;
  readonly idempotencyKey?: string;
  readonly request: ActionRequest;
  /** Which callback addresses this deployment may reach. */
  readonly callbackNetwork: CallbackNetwork;
}

export async function askForAction(
  ports: Pick<Ports, 'ledger' | 'requests' | 'grants' | 'workflow' | 'signer' | 'mac' | 'clock' | 'policy' | 'metrics'>,
  input: AskInput,
): Promise<{ state: ApprovalState; receipt?: string }> {
  const config = ports.policy.config();
  const { requester } = input;
  const request = input.request.onBehalfOf === undefined ? input.request : { ...input.request, onBehalfOf: onBehalfOfIdentity(input.request.onBehalfOf) };
  const callbackProblem = request.callbackUrl === undefined ? undefined : callbackUrlProblem(request.callbackUrl, input.callbackNetwork);
  if (callbackProblem) throw new CountersignError('invalid_request', `callbackUrl ${callbackProblem}`, [{ path: 'callbackUrl', message: callbackProblem }]);
  // Refused (400, nothing recorded): hidden characters in a field policy compares, or a value a rule cannot judge.
  const verdict = evaluatePolicy(config, { ...request, requester });
  if (verdict.refused) throw refusalError(verdict);
  // Random, or derived with the deployment's secret from the caller and its Idempotency-Key, so a retry lands on the
  // same request and nobody else can compute which id a key gives.
  const idempotent = Boolean(input.idempotencyKey);
  const id = idempotent ? await idempotentRequestId(ports.mac, requester, input.idempotencyKey!) : `act_${randomBytes(16).toString('base64url')}`;
  // A grant of the deciding rule that covers this request approves it at once (core/grant.ts).
  const grantedBy = verdict.outcome.effect === 'require_approval' ? await grantCovering(ports, verdict, { ...request, requester }) : undefined;
  const policy = policyDecidedData(config, verdict, ports.policy.version(), ports.clock.now(), grantedBy);
  // Policy saw the real values; everything after (ledger, notifications, pages) sees them masked.
  const masking = maskRequest(request, { paths: [...config.mask, ...maskPathsOf(verdict)] });
  // A fresh random id has no chain: nobody else can know the id before this call answers, so there is nothing to
  // read. An Idempotency-Key's id is read (a retry lands on it), while the salt is derived.
  const [salt, known] = await Promise.all([parametersSalt(ports.mac, id), idempotent ? ports.ledger.read(id) : Promise.resolve([])]);
  // requested, policy_decided and (decided at once) the outcome, in one write; an approval's receipt is signed
  // alongside, from the chain as it will be (the salt is at hand: no second derivation).
  const appended = await ports.ledger.append(
    id,
    (current) =>
      decideIntake(current, {
        requester,
        request: masking.value,
        bodyCommitment: commitment(salt, request),
        parametersCommitment: commitment(salt, request.parameters ?? {}),
        masked: masking.masked,
        policy,
      }),
    { known, alongside: receiptAlongside(ports, salt) },
  );
  const { chain } = appended;
  const state = deriveState(chain)!;
  const status = statusOf(state);
  countAppended(ports.metrics, appended.appended, state);
  // A retry that appended nothing signs a receipt here; the one stored first is kept.
  let receipt = status === 'approved' ? (appended.alongside ?? (await issueReceipt(ports, state, chain, salt))) : undefined;
  // The item with its final status (and receipt), in one write; the workflow of a pending request starts at the same
  // time. Its Notify step keeps its task token in the item: were the item not there yet, Notify waits for it a little
  // (notify.ts ITEM_WAITS_MS), then fails and Step Functions runs it again (2 s later). A retry (same
  // Idempotency-Key) after the workflow started starts nothing; one that failed to start is started by the retry or
  // by the repair job.
  const [created] = await Promise.all([
    ports.requests.put({
      id,
      requester,
      status,
      createdAt: state.createdAt,
      ...(status === 'pending' ? pendingSummaryOf(state) : {}),
      ...(receipt ? { receipt } : {}),
    }),
    ports.workflow.start(state),
  ]);
  // A retry that found the item answers the receipt stored first (storing this one if none was).
  if (!created && receipt) receipt = (await ports.requests.storeReceipt(id, receipt))?.receipt ?? receipt;
  return { state, ...(receipt ? { receipt } : {}) };
}
