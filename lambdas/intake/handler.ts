/** Agent API: ask for an action (POST /v1/actions) and read its state (GET /v1/actions/{id}). */
import { randomBytes } from 'node:crypto';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { timeoutSeconds } from '../core/config';
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
  // Policy evaluation arrives with the approval flow; until then every request waits for the default approvers.
  const outcome = config.default;
  const now = new Date();
  const seconds = timeoutSeconds(outcome);
  const request: StoredRequest = {
    ...body,
    id: `act_${randomBytes(16).toString('base64url')}`,
    status: 'pending',
    requester,
    rule: 'default',
    requiredApprovals: outcome.minApprovals ?? 1,
    approvers: (outcome.approvers ?? []).flatMap((group) => config.groups[group]?.members.map((m) => m.id) ?? []),
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
