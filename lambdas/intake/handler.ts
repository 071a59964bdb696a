/**
 * Agent API: ask for an action, read it (optionally waiting for the outcome), cancel it, redeem its receipt once, read its audit trail,
 * export the ledger (auditors), and fetch the ledger's public key. Each route parses the event, calls its use case
 * (lambdas/app/) with the AWS ports, and maps the answer; CountersignErrors become the API's error answers.
 */
import { awsExportSource, awsServicePorts } from '../adapters/aws-ports';
import { callbackNetwork } from '../adapters/environment';
import { API_INTEGRATION_TIMEOUT_MS, caller, type HttpEvent, type InvocationContext, json, jsonBody, parseWith, routeHandler } from '../adapters/http';
import { correlate, logger } from '../adapters/logger';
import { askForAction } from '../app/ask';
import { exportLedger } from '../app/export';
import { listGrants, revokeBodySchema, revokeGrant } from '../app/grants';
import { cancelAction, readAction, readAuditEvidence, readAuditTrail } from '../app/read';
import { redeemBodySchema, redeemReceipt } from '../app/redeem';
import { publicView, statusOf } from '../core/approval';
import { CountersignError } from '../core/errors';
import { actionRequestSchema } from '../core/request';
import * as z from '../core/zod';

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

const ports = awsServicePorts;
const principalOf = (event: HttpEvent) => caller(event, ports.policy.config());

async function createAction(event: HttpEvent) {
  const requester = principalOf(event);
  const idempotencyKey = event.headers?.['idempotency-key'];
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new CountersignError('invalid_request', 'Idempotency-Key must be 1-255 printable ASCII characters', [
      { path: 'Idempotency-Key', message: 'invalid' },
    ]);
  }
  const request = parseWith(actionRequestSchema, jsonBody(event));
  const { state, receipt } = await askForAction(ports, {
    requester,
    request,
    callbackNetwork: callbackNetwork(),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  });
  // The request exists from here: its id is the invocation's correlation id.
  correlate(state.id);
  logger.info('action requested', { action: state.request.action, rule: state.policy?.rule, effect: state.policy?.effect, status: statusOf(state) });
  return json(statusOf(state) === 'pending' ? 202 : 200, publicView(state, receipt));
}

const waitSchema = z.coerce.number().check(z.int(), z.gte(0), z.lte(MAX_WAIT_SECONDS));

async function readActionRoute(event: HttpEvent, context?: InvocationContext) {
  const waitText = event.queryStringParameters?.wait;
  const wait = waitText === undefined ? 0 : waitSchema.safeParse(waitText);
  if (typeof wait !== 'number' && !wait.success) {
    throw new CountersignError('invalid_request', `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`, [
      { path: 'wait', message: 'invalid' },
    ]);
  }
  const seconds = typeof wait === 'number' ? wait : wait.data;
  const principal = principalOf(event);
  // The wait asked for, but never past the invocation's end, nor API Gateway's integration timeout counted from when the
  // request arrived (a cold start ate some of it), each less the margin: the answer must come back in time.
  const now = ports.clock.now().getTime();
  const left = context ? context.getRemainingTimeInMillis() - WAIT_MARGIN_MS : Infinity;
  const arrived = event.requestContext.timeEpoch;
  const gatewayLeft = arrived ? arrived + API_INTEGRATION_TIMEOUT_MS - WAIT_MARGIN_MS - now : Infinity;
  const until = now + Math.max(0, Math.min(seconds * 1000, left, gatewayLeft));
  const { state, receipt } = await readAction(ports, principal, event.pathParameters?.id ?? '', until);
  return json(200, publicView(state, receipt));
}

async function cancelActionRoute(event: HttpEvent) {
  const state = await cancelAction(ports, principalOf(event), event.pathParameters?.id ?? '');
  logger.info('action cancel asked', { status: statusOf(state) });
  return json(200, publicView(state));
}

/** The requester's executor redeems the approval's receipt, once (docs/api.md "POST /v1/actions/{id}/redeem"). */
async function redeemRoute(event: HttpEvent) {
  const principal = principalOf(event);
  const body = parseWith(redeemBodySchema, jsonBody(event));
  const redeemed = await redeemReceipt(ports, principal, event.pathParameters?.id ?? '', body);
  logger.info('receipt redeemed', { redeemedBy: redeemed.redeemedBy });
  return json(200, redeemed);
}

const grantsQuerySchema = z.strictObject({ status: z.optional(z.enum(['active', 'all'])) });

/** The grants the caller may see (docs/api.md "GET /v1/grants"): active ones, or with `?status=all` the last week's too. */
async function listGrantsRoute(event: HttpEvent) {
  const principal = principalOf(event);
  const parsed = grantsQuerySchema.safeParse(event.queryStringParameters ?? {});
  if (!parsed.success) {
    throw new CountersignError('invalid_request', 'the only query is status, active or all', [{ path: 'status', message: 'expected active or all' }]);
  }
  const query = parsed.data;
  return json(200, await listGrants(ports, principal, { all: query.status === 'all' }));
}

/** Ends a grant early, with a reason (docs/api.md "POST /v1/grants/{id}/revoke"). */
async function revokeGrantRoute(event: HttpEvent) {
  const principal = principalOf(event);
  const body = parseWith(revokeBodySchema, jsonBody(event));
  const grant = await revokeGrant(ports, principal, event.pathParameters?.id ?? '', body.reason);
  correlate(grant.requestId);
  logger.info('grant revoked', { grant: grant.id, revokedBy: grant.revokedBy });
  return json(200, grant);
}

/** The records as an array (the answer clients have always read); with `?certificates=true`, records and certificates. */
async function readAuditRoute(event: HttpEvent) {
  const principal = principalOf(event);
  const flag = event.queryStringParameters?.certificates;
  if (flag !== undefined && flag !== 'true' && flag !== 'false') {
    throw new CountersignError('invalid_request', 'certificates must be true or false', [{ path: 'certificates', message: 'invalid' }]);
  }
  const id = event.pathParameters?.id ?? '';
  return json(200, flag === 'true' ? await readAuditEvidence(ports, principal, id) : await readAuditTrail(ports, principal, id));
}

const exportQuerySchema = z.strictObject({
  since: z.optional(z.iso.datetime()),
  until: z.optional(z.iso.datetime()),
  cursor: z.optional(z.string()),
});

/** Auditors only: the whole ledger, a page at a time (`countersign audit export`), sealed. */
async function exportAuditRoute(event: HttpEvent) {
  const principal = principalOf(event);
  const query = parseWith(exportQuerySchema, event.queryStringParameters ?? {});
  // Stored times are toISOString() strings: compare like with like.
  const page = await exportLedger(ports, awsExportSource(), principal, {
    since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
    until: query.until === undefined ? undefined : new Date(query.until).toISOString(),
    cursor: query.cursor,
  });
  return json(200, { items: page.items, cursor: page.cursor, exportedAt: page.exportedAt, ...(page.seal ? { seal: page.seal } : {}) });
}

async function publicKey(event: HttpEvent) {
  principalOf(event);
  return { statusCode: 200, headers: { 'content-type': 'application/x-pem-file', 'cache-control': 'max-age=300' }, body: await ports.signer.publicKeyPem() };
}

export const handler = routeHandler({
  'POST /v1/actions': createAction,
  'GET /v1/actions/{id}': readActionRoute,
  'POST /v1/actions/{id}/cancel': cancelActionRoute,
  'POST /v1/actions/{id}/redeem': redeemRoute,
  'GET /v1/actions/{id}/audit': readAuditRoute,
  'GET /v1/audit/public-key': publicKey,
  'GET /v1/audit/export': exportAuditRoute,
  'GET /v1/grants': listGrantsRoute,
  'POST /v1/grants/{id}/revoke': revokeGrantRoute,
});
