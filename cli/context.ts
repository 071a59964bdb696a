/**
 * What a request asks, beyond the API's view of it: the parameters (as recorded: already masked), the
 * justification and the agent, from the request's `requested` ledger record (GET /v1/actions/{id}/audit, which the
 * requester, the approvers and the auditors may read, as they may read the request). `status` and `pending` show it,
 * so nobody approves blind. All of it is the agent's text: shown only through neutralize.
 */
import { apiRequest, type Endpoint, expectOk } from '../client/transport';
import { requestedDataSchema } from '../lambdas/core/records';
import { neutralize } from './connection';

export interface RequestContext {
  readonly parameters?: Record<string, unknown>;
  readonly justification?: string;
  readonly agent?: { readonly name?: string; readonly model?: string; readonly runId?: string };
  /** The parameters' paths masked before they were recorded, and why. */
  readonly masked?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

/** A request's context, or why it is not available. */
export type RequestContextFound = { context: RequestContext } | { unavailable: string };

/** The context of request `id`, or why it is not available (an API error's code, or a ledger without it). */
export async function requestContext(endpoint: Endpoint, id: string): Promise<RequestContextFound> {
  let body: unknown;
  try {
    body = expectOk(await apiRequest(endpoint, { method: 'GET', path: `/v1/actions/${encodeURIComponent(id)}/audit` })).json();
  } catch (e) {
    return { unavailable: (e as { code?: string }).code ?? (e as Error).message };
  }
  const records = Array.isArray(body) ? body : (body as { records?: unknown } | null)?.records;
  const requested = Array.isArray(records) ? records.find((r) => (r as { type?: unknown } | null)?.type === 'requested') : undefined;
  const parsed = requestedDataSchema.safeParse((requested as { data?: unknown } | undefined)?.data);
  if (!parsed.success) return { unavailable: 'no requested record in the ledger' };
  const { request, masked } = parsed.data;
  return {
    context: {
      ...(request.parameters !== undefined ? { parameters: request.parameters } : {}),
      ...(request.justification !== undefined ? { justification: request.justification } : {}),
      ...(request.agent !== undefined ? { agent: request.agent } : {}),
      ...(masked?.length ? { masked } : {}),
    },
  };
}

/** `label  value` rows of a context; every value neutralized (hidden and control characters made visible). */
export function contextRows(found: RequestContextFound): Array<readonly [string, string | undefined]> {
  if ('unavailable' in found) return [['context', `unavailable (${neutralize(found.unavailable)})`]];
  const { agent, justification, parameters, masked } = found.context;
  const agentText = agent
    ? [agent.name, agent.model ? `model ${agent.model}` : undefined, agent.runId ? `run ${agent.runId}` : undefined].filter(Boolean).join(', ')
    : undefined;
  return [
    ['agent', agentText ? neutralize(agentText) : undefined],
    ['justification', justification !== undefined ? `"${neutralize(justification)}" (the agent's words)` : undefined],
    ['parameters', parameters !== undefined ? neutralize(JSON.stringify(parameters)) : '(none)'],
    ['masked', masked?.length ? neutralize(masked.map((m) => `${m.path} (${m.reason})`).join(', ')) : undefined],
  ];
}
