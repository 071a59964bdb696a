/**
 * Agent API: ask for an action, read it (optionally waiting for the outcome), cancel it, read its audit trail, and
 * fetch the ledger's public key. Every state change is a ledger append first; the rest follows from the chain.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canRead, isRequester, decideCancel, decideIntake, deriveState, publicView, statusOf, type ApprovalState, type PolicyDecidedData } from '../core/approval';
import { channelsFor, timeoutSeconds } from '../core/config';
import { parseDuration } from '../core/duration';
import { CountersignError } from '../core/errors';
import { approverIds, evaluatePolicy, refusalError, requirementsOf } from '../core/policy';
import { actionRequestSchema, REQUEST_ID_PATTERN } from '../core/request';
import { maskRequest } from '../core/masking';
import { commitment, idempotentRequestId, parametersSalt } from '../core/commitment';
import { canonicalPrincipal, IdentityError } from '../core/identity';
import { callbackUrlProblem } from '../core/callback';
import { callbackNetwork } from '../adapters/environment';
import { dynamo, kms, requiredEnv } from '../adapters/aws-clients';
import { startWorkflow } from '../adapters/workflow-start';
import { exportSealedPage } from '../adapters/ledger-export';
import { deployedConfig, deployedDirectory, policyVersion } from '../adapters/deployed-config';
import { API_INTEGRATION_TIMEOUT_MS, caller, json, jsonBody, parseWith, routeHandler, type HttpEvent, type InvocationContext } from '../adapters/http';
import { completeOutcome, ledger, requestSecrets } from '../adapters/ledger';
import { putRequestItem } from '../adapters/request-store';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/**
 * docs/api.md "GET /v1/actions/{id} and ?wait=N": `?wait=N` holds the answer up to 20 s, inside API Gateway's
 * integration timeout.
 */
export const MAX_WAIT_SECONDS = 20;
/**
 * Kept back from the invocation's remaining time when waiting: room to read the outcome, fetch or issue the receipt
 * and answer before the function (and API Gateway) time out. The intake function's timeout fits a whole
 * `MAX_WAIT_SECONDS` wait and this margin, so the wait is cut short only when an invocation started late.
 */
export const WAIT_MARGIN_MS = 4000;
const WAIT_POLL_MS = 250;

/**
 * A request id: random, or derived with the deployment's secret from the caller and its Idempotency-Key, so a retry
 * lands on the same request and nobody else can compute which id a key gives.
 */
async function requestId(requester: string, idempotencyKey: string | undefined): Promise<string> {
  if (!idempotencyKey) return `act_${randomBytes(16).toString('base64url')}`;
  return idempotentRequestId(requestSecrets(), requester, idempotencyKey);
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

async function createAction(event: HttpEvent) {
  const config = deployedConfig();
  const requester = caller(event, config);
  const key = event.headers?.['idempotency-key'];
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new CountersignError('invalid_request', 'Idempotency-Key must be 1-255 printable ASCII characters', [{ path: 'Idempotency-Key', message: 'invalid' }]);
  }
  const body = parseWith(actionRequestSchema, jsonBody(event));
  const request = body.onBehalfOf === undefined ? body : { ...body, onBehalfOf: onBehalfOfIdentity(body.onBehalfOf) };
  const callbackProblem = request.callbackUrl === undefined ? undefined : callbackUrlProblem(request.callbackUrl, callbackNetwork());
  if (callbackProblem) {
    throw new CountersignError('invalid_request', `callbackUrl ${callbackProblem}`, [{ path: 'callbackUrl', message: callbackProblem }]);
  }
  // Refused (400, nothing recorded): hidden characters in a field policy compares, or a value a rule cannot judge.
  const verdict = evaluatePolicy(config, { ...request, requester });
  if (verdict.refused) throw refusalError(verdict);
  const { rule, outcome } = verdict;
  const id = await requestId(requester, key);
  const require = requirementsOf(config, outcome);
  const now = new Date();
  const seconds = outcome.effect === 'require_approval' ? timeoutSeconds(outcome) : undefined;
  const policy: PolicyDecidedData = {
    rule,
    effect: outcome.effect,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    requiredApprovals: outcome.effect !== 'require_approval' ? 0 : require ? require.reduce((n, r) => n + r.min, 0) : (outcome.minApprovals ?? 1),
    ...(require ? { require } : {}),
    policyVersion: policyVersion(config),
    approvers: outcome.effect === 'require_approval' ? approverIds(config, outcome) : [],
    ...(seconds ? { timeoutSeconds: seconds, expiresAt: new Date(now.getTime() + seconds * 1000).toISOString() } : {}),
    ...(outcome.effect === 'require_approval' ? { channels: channelsFor(config, outcome), ...(outcome.requireSignIn ? { requireSignIn: true } : {}) } : {}),
    ...(outcome.effect === 'require_approval' && outcome.remindAfter ? { remindAfterSeconds: parseDuration(outcome.remindAfter) } : {}),
    ...(outcome.effect === 'require_approval' && outcome.escalateAfter && outcome.escalateTo
      ? { escalateAfterSeconds: parseDuration(outcome.escalateAfter), escalateTo: approverIds(config, { effect: 'require_approval', approvers: outcome.escalateTo }) }
      : {}),
  };
  const salt = await parametersSalt(requestSecrets(), id);
  // Policy saw the real values; everything after (ledger, notifications, pages) sees them masked.
  const masking = maskRequest(request, { paths: [...config.mask, ...(outcome.mask ?? [])] });
  const { chain } = await ledger().append(id, (current) =>
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
  await putRequestItem({ id, requester, status: statusOf(state), createdAt: state.createdAt });

  // A retry (same Idempotency-Key) after the workflow started starts nothing; one that failed to start is started
  // by the retry or by the repair job.
  await startWorkflow(state);
  // The salt is at hand: an approval at once signs its receipt without deriving it again.
  const receipt = await completeOutcome(state, chain, 'read', { salt });
  return json(statusOf(state) === 'pending' ? 202 : 200, publicView(state, receipt));
}

/** The request as the caller may see it; 404 both when it does not exist and when the caller may not see it. */
async function readable(event: HttpEvent): Promise<{ principal: string; state: ApprovalState; chain: Awaited<ReturnType<ReturnType<typeof ledger>['read']>> }> {
  const principal = caller(event, deployedConfig());
  const id = event.pathParameters?.id ?? '';
  const chain = REQUEST_ID_PATTERN.test(id) ? await ledger().read(id) : [];
  const state = deriveState(chain);
  if (!state || !canRead(state, principal, deployedDirectory())) throw new CountersignError('not_found', 'no such request');
  return { principal, state, chain };
}

const waitSchema = z.coerce.number().int().min(0).max(MAX_WAIT_SECONDS);

async function readAction(event: HttpEvent, context?: InvocationContext) {
  const waitText = event.queryStringParameters?.wait;
  const wait = waitText === undefined ? 0 : waitSchema.safeParse(waitText);
  if (typeof wait !== 'number' && !wait.success) {
    throw new CountersignError('invalid_request', `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`, [{ path: 'wait', message: 'invalid' }]);
  }
  const seconds = typeof wait === 'number' ? wait : wait.data;
  let { principal, state, chain } = await readable(event);
  // The wait asked for, but never past the invocation's end, nor API Gateway's integration timeout counted from when the
  // request arrived (a cold start ate some of it), each less the margin: the answer must come back in time.
  const left = context ? context.getRemainingTimeInMillis() - WAIT_MARGIN_MS : Infinity;
  const arrived = event.requestContext.timeEpoch;
  const gatewayLeft = arrived ? arrived + API_INTEGRATION_TIMEOUT_MS - WAIT_MARGIN_MS - Date.now() : Infinity;
  const deadline = Date.now() + Math.max(0, Math.min(seconds * 1000, left, gatewayLeft));
  while (statusOf(state) === 'pending' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, deadline - Date.now())));
    chain = await ledger().read(state.id);
    state = deriveState(chain)!;
  }
  const receipt =
    // The receipt holds the parameters salt: only the requester is shown it.
    statusOf(state) === 'approved' && isRequester(state, principal, deployedDirectory())
      ? await completeOutcome(state, chain, 'read') // the stored receipt, or one signed now
      : undefined;
  return json(200, publicView(state, receipt));
}

async function cancelAction(event: HttpEvent) {
  const { principal, state } = await readable(event);
  const { chain } = await ledger().append(state.id, (current) => decideCancel(current, principal, deployedDirectory()));
  const settled = deriveState(chain)!;
  await completeOutcome(settled, chain);
  return json(200, publicView(settled));
}

async function readAudit(event: HttpEvent) {
  const { chain } = await readable(event);
  return json(200, chain);
}

const exportQuerySchema = z.strictObject({
  since: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
  cursor: z.string().optional(),
});

/**
 * Auditors only: the whole ledger, a page at a time (`countersign audit export`), sealed: the last page answers
 * `seal`, the ledger key's signed statement of everything the export returned (core/export-seal.ts).
 */
async function exportAudit(event: HttpEvent) {
  const principal = caller(event, deployedConfig());
  const query = parseWith(exportQuerySchema, event.queryStringParameters ?? {});
  // Stored times are toISOString() strings: compare like with like.
  const since = query.since === undefined ? undefined : new Date(query.since).toISOString();
  const until = query.until === undefined ? undefined : new Date(query.until).toISOString();
  if (since && until && since > until) {
    throw new CountersignError('invalid_request', 'since is after until', [{ path: 'since', message: 'after until' }]);
  }
  if (!deployedDirectory().isAuditor(principal)) throw new CountersignError('forbidden', 'only auditors may export the ledger');
  const page = await exportSealedPage({
    dynamo,
    kms,
    tableName: requiredEnv('ledgerTable'),
    keyId: requiredEnv('ledgerKeyId'),
    publicKey: async () => createPublicKey(await ledger().publicKeyPem()),
    since,
    until,
    cursor: query.cursor,
  });
  return json(200, { items: page.items, cursor: page.cursor, exportedAt: page.exportedAt, ...(page.seal ? { seal: page.seal } : {}) });
}

async function publicKey(event: HttpEvent) {
  caller(event, deployedConfig());
  return { statusCode: 200, headers: { 'content-type': 'application/x-pem-file', 'cache-control': 'max-age=300' }, body: await ledger().publicKeyPem() };
}

export const handler = routeHandler({
  'POST /v1/actions': createAction,
  'GET /v1/actions/{id}': readAction,
  'POST /v1/actions/{id}/cancel': cancelAction,
  'GET /v1/actions/{id}/audit': readAudit,
  'GET /v1/audit/public-key': publicKey,
  'GET /v1/audit/export': exportAudit,
});
