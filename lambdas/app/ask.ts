/**
 * Asking for an action (`POST /v1/actions`): policy decides at once (allow, deny) or asks approvers; either way the
 * request and the decision are ledgered first, then the request item is stored and the approval workflow started.
 * A retry with the same Idempotency-Key lands on the same request and changes nothing.
 */
import { randomBytes } from 'node:crypto';
import { type ApprovalState, decideIntake, deriveState, pendingSummaryOf, statusOf } from '../core/approval';
import { type CallbackNetwork, callbackUrlProblem } from '../core/callback';
import { commitment, idempotentRequestId, parametersSalt } from '../core/commitment';
import { CountersignError } from '../core/errors';
import { canonicalPrincipal, IdentityError } from '../core/identity';
import { maskRequest } from '../core/masking';
import { evaluatePolicy, policyDecidedData, refusalError } from '../core/policy';
import type { Ports } from '../core/ports';
import type { ActionRequest } from '../core/request';
import { completeOutcome } from './outcome';

export interface AskInput {
  /** The caller, in canonical spelling. */
  readonly requester: string;
  readonly idempotencyKey?: string;
  readonly request: ActionRequest;
  /** Which callback addresses this deployment may reach. */
  readonly callbackNetwork: CallbackNetwork;
}

export async function askForAction(
  ports: Pick<Ports, 'ledger' | 'requests' | 'workflow' | 'signer' | 'mac' | 'clock' | 'policy'>,
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
  const id = input.idempotencyKey ? await idempotentRequestId(ports.mac, requester, input.idempotencyKey) : `act_${randomBytes(16).toString('base64url')}`;
  const policy = policyDecidedData(config, verdict, ports.policy.version(), ports.clock.now());
  const salt = await parametersSalt(ports.mac, id);
  // Policy saw the real values; everything after (ledger, notifications, pages) sees them masked.
  const masking = maskRequest(request, { paths: [...config.mask, ...(verdict.outcome.mask ?? [])] });
  const { chain } = await ports.ledger.append(id, (current) =>
    decideIntake(current, {
      requester,
      request: masking.value,
      bodyCommitment: commitment(salt, request),
      parametersCommitment: commitment(salt, request.parameters ?? {}),
      masked: masking.masked,
      policy,
    }),
  );
  const state = deriveState(chain)!;
  const status = statusOf(state);
  await ports.requests.put({ id, requester, status, createdAt: state.createdAt, ...(status === 'pending' ? pendingSummaryOf(state) : {}) });
  // A retry (same Idempotency-Key) after the workflow started starts nothing; one that failed to start is started
  // by the retry or by the repair job.
  await ports.workflow.start(state);
  // The salt is at hand: an approval at once signs its receipt without deriving it again.
  const receipt = await completeOutcome(ports, state, chain, 'read', { salt });
  return { state, ...(receipt ? { receipt } : {}) };
}

/** `onBehalfOf` in its canonical spelling, or a 400 naming it: the person an agent acts for is an identity. */
function onBehalfOfIdentity(raw: string): string {
  try {
    return canonicalPrincipal(raw);
  } catch (err) {
    if (!(err instanceof IdentityError)) throw err;
    throw new CountersignError('invalid_request', `onBehalfOf ${err.message}`, [{ path: 'onBehalfOf', message: err.message }]);
  }
}
