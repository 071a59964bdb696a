/**
 * What the MCP server and gateway need from Countersign: ask and wait, read a request, and redeem an approval. The TypeScript client
 * (`Countersign` in client/index.ts) satisfies it structurally; tests pass a fake.
 */
import type { ActionRequest, ActionView } from '../lambdas/core/request';

export type { ActionRequest, ActionView } from '../lambdas/core/request';

export interface ApprovalOutcome {
  readonly status: 'approved' | 'denied' | 'expired' | 'cancelled';
  readonly id: string;
  readonly view: ActionView;
  readonly receipt?: string;
  readonly reason?: string;
}

export interface Approvals {
  /**
   * Asks and waits until settled or the deadline; rejects with an Error whose `name` is 'ApprovalDeadlineError'
   * (with `.id`) when still pending at the deadline, or a `CountersignApiError` (client/transport.ts) for API errors.
   */
  requestApproval(request: ActionRequest, options?: { timeoutMs?: number; signal?: AbortSignal; idempotencyKey?: string }): Promise<ApprovalOutcome>;
  /** GET /v1/actions/{id}[?wait=N]. */
  getStatus(id: string, options?: { waitSeconds?: number; signal?: AbortSignal }): Promise<ActionView>;
  /**
   * POST /v1/actions/{id}/redeem, binding the commitment of exactly `parameters`: resolves for the approval's first
   * redemption only; rejects with a `CountersignApiError` (`already_redeemed`, `parameters_mismatch`, ...) otherwise.
   */
  redeem(id: string, receipt: string, options?: { parameters?: unknown; signal?: AbortSignal }): Promise<{ redeemedAt: string; redeemedBy: string }>;
}

/** The request id of a request still pending at the caller's deadline, else undefined. */
export function pendingAtDeadline(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'ApprovalDeadlineError') return undefined;
  const id = (err as { id?: unknown }).id;
  return typeof id === 'string' ? id : '(unknown request)';
}

/** The API's error code and message (CountersignApiError, matched by shape), else undefined. */
export function apiErrorOf(err: unknown): { code: string; message: string; status: number } | undefined {
  if (!(err instanceof Error) || err.name !== 'CountersignApiError') return undefined;
  const { code, status } = err as { code?: unknown; status?: unknown };
  return { code: typeof code === 'string' ? code : 'api_error', message: err.message, status: typeof status === 'number' ? status : 0 };
}
