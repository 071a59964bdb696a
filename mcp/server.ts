/**
 * `countersign mcp`: an MCP server that lets an agent ask Countersign itself. Two tools:
 *
 * - `request_approval` asks (POST /v1/actions) and waits until the request settles or its deadline. Denied, expired
 *   and cancelled are answers, not errors; API errors are tool errors (`isError`) naming the code.
 * - `get_approval_status` reads a request (GET /v1/actions/{id}?wait=N), e.g. one still pending at the deadline.
 *
 * The agent name sent with a request is the MCP client's name (its `initialize` clientInfo) unless the server was
 * given one. HTTP is the injected `Approvals`' business; nothing here writes to stdout.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { type ActionRequest, type ActionView, actionRequestSchema, decisionSchema, REQUEST_ID_PATTERN, requestStatusSchema } from '../lambdas/core/request';
import { type ApprovalOutcome, type Approvals, apiErrorOf, pendingAtDeadline } from './approvals';

export const SERVER_VERSION = '0.1.0';
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const MAX_TIMEOUT_SECONDS = 3600;
/** docs/api.md: `?wait=N` holds at most 20 s. */
export const MAX_WAIT_SECONDS = 20;
/** While a call waits for humans, a progress notification this often (when the client sent a progressToken). */
export const DEFAULT_PROGRESS_INTERVAL_MS = 15_000;

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ApprovalServerOptions {
  /** The server's name in `initialize`. @default 'countersign' */
  readonly name?: string;
  /** Sent as the request's `agent`; `name` defaults to the MCP client's name. */
  readonly agent?: ActionRequest['agent'];
  /** 0 turns progress notifications off. @default DEFAULT_PROGRESS_INTERVAL_MS */
  readonly progressIntervalMs?: number;
}

const requestShape = actionRequestSchema.shape;

/**
 * A copy of one of the request's fields (zod/mini schemas, which have no `.describe`) registered with its description,
 * as classic zod's `.describe` does: the tool's JSON schema shows it, the request schema itself is left as it is.
 */
function described<S extends z.core.$ZodType & { clone(): S }>(schema: S, description: string): S {
  const copy = schema.clone();
  z.globalRegistry.add(copy, { description });
  return copy;
}

const requestApprovalInput = {
  action: described(requestShape.action, 'What you are about to do, e.g. "db.migrate" or "payments.refund": 1-128 characters of a-z 0-9 _ . : -'),
  resource: described(requestShape.resource, 'What it acts on, e.g. an ARN, a repository or a table'),
  environment: described(requestShape.environment, 'e.g. production, staging'),
  // A plain record here, so the tool's JSON schema says `object`; the request schema's own checks (depth, keys,
  // numbers) run when the client sends it, and a refusal comes back as a tool error.
  parameters: z.record(z.string(), z.unknown()).optional().describe('The exact parameters of the action; an approval (and its receipt) covers these values'),
  justification: described(requestShape.justification, 'Why, for the human approvers'),
  onBehalfOf: described(requestShape.onBehalfOf, 'The person you act for, if any'),
  timeoutSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_TIMEOUT_SECONDS)
    .default(DEFAULT_TIMEOUT_SECONDS)
    .describe(`How long to wait for a decision before answering "still pending" (default ${DEFAULT_TIMEOUT_SECONDS}, at most ${MAX_TIMEOUT_SECONDS})`),
};

const outcomeOutput = {
  status: z.enum(['approved', 'denied', 'expired', 'cancelled', 'pending']),
  id: z.string(),
  reason: z.string().optional(),
  receipt: z.string().optional(),
};

const statusInput = {
  id: z.string().regex(REQUEST_ID_PATTERN, 'expected a request id such as act_...').describe('The request id (act_...)'),
  waitSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .default(0)
    .describe(`Hold the answer up to this many seconds while the request is pending (0-${MAX_WAIT_SECONDS})`),
};

const statusOutput = {
  id: z.string(),
  status: requestStatusSchema,
  action: z.string(),
  resource: z.string().optional(),
  environment: z.string().optional(),
  rule: z.string().optional(),
  requiredApprovals: z.number(),
  votes: z.array(z.object({ approver: z.string(), decision: decisionSchema, reason: z.string().optional() })),
  missing: z.array(z.string()).optional(),
  decidedBy: z.string().optional(),
  reason: z.string().optional(),
  expiresAt: z.string().optional(),
  receipt: z.string().optional(),
};

/** The MCP server with `request_approval` and `get_approval_status`; connect it to a transport. */
export function createApprovalServer(approvals: Approvals, options: ApprovalServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: options.name ?? 'countersign', version: SERVER_VERSION },
    {
      instructions:
        'Before a privileged or irreversible action, call request_approval with the action and its exact parameters, ' +
        'and go ahead only when the answer is "approved". If it is still pending at the deadline, call get_approval_status later.',
    },
  );
  const progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;

  server.registerTool(
    'request_approval',
    {
      title: 'Request approval',
      description:
        'Ask Countersign for approval of an action and wait for the decision (policy may answer at once; otherwise humans decide). ' +
        'Answers approved (with a receipt), denied (with the reason), expired, cancelled, or still pending at the deadline. ' +
        'Do the action only when approved, and with exactly the parameters approved.',
      inputSchema: requestApprovalInput,
      outputSchema: outcomeOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (input, extra): Promise<CallToolResult> => {
      const { timeoutSeconds, ...fields } = input;
      const agent = agentOf(options.agent, server.server.getClientVersion()?.name);
      const request: ActionRequest = { ...definedOnly(fields), ...(agent ? { agent } : {}) } as ActionRequest;
      try {
        const outcome = await withProgress(
          extra,
          progressIntervalMs,
          `waiting for a decision on ${request.action}`,
          approvals.requestApproval(request, { timeoutMs: timeoutSeconds * 1000, signal: extra.signal }),
        );
        return outcomeResult(outcome);
      } catch (err) {
        if (extra.signal.aborted) throw err;
        const pending = pendingAtDeadline(err);
        if (pending !== undefined) {
          return {
            content: [{ type: 'text', text: `still pending at the deadline: ${pending}; call get_approval_status with this id to wait for the decision` }],
            structuredContent: { status: 'pending', id: pending },
          };
        }
        return errorResult(err);
      }
    },
  );

  server.registerTool(
    'get_approval_status',
    {
      title: 'Get approval status',
      description:
        'Read a Countersign request: its status, the votes so far, what it still needs, and the receipt once approved. ' +
        `waitSeconds (up to ${MAX_WAIT_SECONDS}) holds the answer while the request is pending.`,
      inputSchema: statusInput,
      outputSchema: statusOutput,
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async ({ id, waitSeconds }, extra): Promise<CallToolResult> => {
      try {
        const view = await approvals.getStatus(id, { ...(waitSeconds > 0 ? { waitSeconds } : {}), signal: extra.signal });
        return { content: [{ type: 'text', text: describeView(view) }], structuredContent: summaryOf(view) };
      } catch (err) {
        if (extra.signal.aborted) throw err;
        return errorResult(err);
      }
    },
  );

  return server;
}

function agentOf(configured: ActionRequest['agent'], clientName: string | undefined): ActionRequest['agent'] | undefined {
  const name = configured?.name ?? (clientName ? clientName.slice(0, 256) : undefined);
  const agent = { ...definedOnly({ ...configured }), ...(name ? { name } : {}) };
  return Object.keys(agent).length > 0 ? agent : undefined;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function outcomeResult(outcome: ApprovalOutcome): CallToolResult {
  const reason = outcome.reason ?? outcome.view.reason;
  const structuredContent = {
    status: outcome.status,
    id: outcome.id,
    ...(reason !== undefined ? { reason } : {}),
    ...(outcome.receipt !== undefined ? { receipt: outcome.receipt } : {}),
  };
  let text: string;
  switch (outcome.status) {
    case 'approved': {
      const by = outcome.view.decidedBy === 'policy' ? `by policy${outcome.view.rule ? ` (rule ${outcome.view.rule})` : ''}` : approversOf(outcome.view);
      text = `approved: ${outcome.id} ${by}. You may now do ${outcome.view.action} with exactly the parameters you asked for.`;
      if (outcome.receipt) text += `\nreceipt: ${outcome.receipt}`;
      break;
    }
    case 'denied':
      text = `denied: ${reason ?? 'no reason given'} (request ${outcome.id}). Do not do this action.`;
      break;
    case 'expired':
      text = `expired: nobody decided on ${outcome.id} in time. Do not do this action.`;
      break;
    case 'cancelled':
      text = `cancelled: ${outcome.id} was withdrawn${reason ? ` (${reason})` : ''}. Do not do this action.`;
      break;
  }
  return { content: [{ type: 'text', text }], structuredContent };
}

function approversOf(view: ActionView): string {
  const approvers = view.votes.filter((v) => v.decision === 'approve').map((v) => v.approver);
  return approvers.length > 0 ? `by ${approvers.join(', ')}` : `(${view.decidedBy ?? 'decided'})`;
}

/** A tool error (`isError`) for an API or other failure: the code and message, and what a bad request got wrong. */
export function errorResult(err: unknown, prefix = 'Countersign'): CallToolResult {
  const api = apiErrorOf(err);
  let text: string;
  if (api) {
    text = `${prefix} API error ${api.code}: ${api.message}${api.status ? ` (HTTP ${api.status})` : ''}`;
    const details = (err as { details?: unknown }).details;
    if (Array.isArray(details)) {
      for (const detail of details.slice(0, 10)) {
        const { path, message } = (detail ?? {}) as { path?: unknown; message?: unknown };
        if (typeof message === 'string') text += `\n- ${Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : ''}: ${message}`;
      }
    }
  } else {
    text = `${prefix} error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  }
  return { isError: true, content: [{ type: 'text', text }] };
}

function summaryOf(view: ActionView) {
  return {
    id: view.id,
    status: view.status,
    action: view.action,
    ...definedOnly({ resource: view.resource, environment: view.environment, rule: view.rule }),
    requiredApprovals: view.requiredApprovals,
    votes: view.votes.map((v) => ({ approver: v.approver, decision: v.decision, ...(v.reason !== undefined ? { reason: v.reason } : {}) })),
    ...definedOnly({ missing: view.missing, decidedBy: view.decidedBy, reason: view.reason, expiresAt: view.expiresAt, receipt: view.receipt }),
  };
}

function describeView(view: ActionView): string {
  const lines = [`${view.id}: ${view.status} (${view.action}${view.resource ? ` on ${view.resource}` : ''}${view.rule ? `, rule ${view.rule}` : ''})`];
  const approvals = view.votes.filter((v) => v.decision === 'approve').length;
  lines.push(
    view.votes.length === 0
      ? `votes: none yet (${view.requiredApprovals} approval${view.requiredApprovals === 1 ? '' : 's'} needed)`
      : `votes (${approvals} of ${view.requiredApprovals} approvals): ${view.votes.map((v) => `${v.approver} ${v.decision === 'approve' ? 'approved' : 'denied'}${v.reason ? ` ("${v.reason}")` : ''}`).join('; ')}`,
  );
  if (view.missing?.length) lines.push(`missing: ${view.missing.join('; ')}`);
  if (view.status === 'pending' && view.expiresAt) lines.push(`expires: ${view.expiresAt}`);
  if (view.status !== 'pending') lines.push(`decided by ${view.decidedBy ?? 'unknown'}${view.reason ? `: ${view.reason}` : ''}`);
  if (view.receipt) lines.push(`receipt: ${view.receipt}`);
  return lines.join('\n');
}

/**
 * Awaits `work`, sending `notifications/progress` every `intervalMs` meanwhile when the caller asked for progress
 * (a progressToken), so a client that resets its request timeout on progress keeps waiting for humans.
 */
export async function withProgress<T>(extra: ToolExtra, intervalMs: number, message: string, work: Promise<T>): Promise<T> {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined || intervalMs <= 0) return work;
  const started = Date.now();
  let progress = 0;
  const timer = setInterval(() => {
    progress += 1;
    const seconds = Math.round((Date.now() - started) / 1000);
    extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken, progress, message: `${message} (${seconds} s)` } })
      .catch(() => undefined);
  }, intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
