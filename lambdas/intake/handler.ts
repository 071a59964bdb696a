/** Agent API: ask for an action (POST /v1/actions) and read its state (GET /v1/actions/{id}). */
import { randomBytes } from 'node:crypto';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { timeoutSeconds } from '../core/config';
import { approverIds, evaluatePolicy } from '../core/policy';
import { CountersignError } from '../core/errors';
import { actionRequestSchema, publicView, type StoredRequest } from '../core/request';
import { executionName, type WorkflowInput } from '../core/workflow';
import { requiredEnv, sfn } from '../adapters/aws-clients';
import { deployedConfig } from '../adapters/deployed-config';
import { caller, json, jsonBody, routeHandler, type HttpEvent } from '../adapters/http';
import { getRequest, putNewRequest } from '../adapters/request-store';

function parseActionRequest(event: HttpEvent) {
  const parsed = actionRequestSchema.safeParse(jsonBody(event));
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new CountersignError('invalid_request', 'the request does not match the schema', details);
}

async function createAction(event: HttpEvent) {
  const requester = caller(event);
  const body = parseActionRequest(event);
  const config = deployedConfig();
  const { rule, outcome } = evaluatePolicy(config, body);
  const now = new Date();
  const id = `act_${randomBytes(16).toString('base64url')}`;
  if (outcome.effect !== 'require_approval') {
    const decided: StoredRequest = {
      ...body,
      id,
      status: outcome.effect === 'allow' ? 'approved' : 'denied',
      requester,
      rule,
      requiredApprovals: 0,
      approvers: [],
      decidedBy: 'policy',
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      createdAt: now.toISOString(),
      decidedAt: now.toISOString(),
    };
    await putNewRequest(decided);
    return json(200, publicView(decided));
  }
  const seconds = timeoutSeconds(outcome);
  const request: StoredRequest = {
    ...body,
    id,
    status: 'pending',
    requester,
    rule,
    requiredApprovals: outcome.minApprovals ?? 1,
    approvers: approverIds(config, outcome),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
  };
  await putNewRequest(request);
  const input: WorkflowInput = { requestId: request.id, timeoutSeconds: seconds };
  try {
    await sfn.send(
      new StartExecutionCommand({ stateMachineArn: requiredEnv('STATE_MACHINE_ARN'), name: executionName(request.id), input: JSON.stringify(input) }),
    );
  } catch (err) {
    if (!(err instanceof ExecutionAlreadyExists)) throw err;
  }
  return json(202, publicView(request));
}

async function readAction(event: HttpEvent) {
  const principal = caller(event);
  const id = event.pathParameters?.id ?? '';
  const request = id ? await getRequest(id) : undefined;
  // Others get 404, never 403: the existence of a request is not revealed.
  if (!request || (request.requester !== principal && !request.approvers.includes(principal) && !deployedConfig().auditors.includes(principal))) {
    throw new CountersignError('not_found', 'no such request');
  }
  return json(200, publicView(request));
}

export const handler = routeHandler({
  'POST /v1/actions': createAction,
  'GET /v1/actions/{id}': readAction,
});
