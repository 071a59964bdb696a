/**
 * The Countersign client for agents and pipelines: ask for approval in one call and get the settled outcome.
 *
 *   import { Countersign } from 'countersign/client';
 *   const outcome = await new Countersign().requestApproval({ action: 'infra.apply', resource: 'vpc-prod' });
 *   if (outcome.status !== 'approved') throw new Error(`not approved: ${outcome.reason ?? outcome.status}`);
 *
 * Or ask, wait, redeem (at most once) and run in one call:
 *
 *   const run = await new Countersign().runIfApproved({ action: 'infra.apply', resource: 'vpc-prod' }, () => apply());
 *   if (!run.ran) throw new Error(`not run: ${run.refused?.code ?? run.outcome.reason ?? run.outcome.status}`);
 *
 * Endpoint and credentials: `url` / `apiKey`, else COUNTERSIGN_URL / COUNTERSIGN_API_KEY; without a key, SigV4 with
 * the default AWS credential chain (see transport.ts). Every request carries an Idempotency-Key, so a retry after a
 * lost answer lands on the same request; 429, 5xx and network failures are retried with backoff.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { REDEMPTION_REFUSALS } from '../lambdas/core/approval';
import { commitment } from '../lambdas/core/commitment';
import { type GrantView, grantViewSchema } from '../lambdas/core/grant';
import { parametersHash } from '../lambdas/core/receipt';
import { type ActionRequest, type ActionView, actionRequestSchema, actionViewSchema, decisionSchema } from '../lambdas/core/request';
import { type ApiRequest, apiRequest, CountersignApiError, type Endpoint, type EndpointOptions, expectOk, resolveEndpoint } from './transport';

export type { GrantView } from '../lambdas/core/grant';
export type { ActionRequest, ActionView } from '../lambdas/core/request';
export { CountersignApiError, EndpointError } from './transport';

/** docs/api.md: `?wait=N` holds an answer at most 20 s. */
export const MAX_WAIT_SECONDS = 20;
/**
 * How a wait polls by default: a plain GET (no server-side hold) after POLL_FIRST_MS, each gap twice the last, at
 * most POLL_MAX_MS: 13 GETs in a 10-minute wait, noticing an outcome within a quarter to a half of the time waited so
 * far, and within a minute after the first. On AWS a GET costs about as much as one second of a held function, so a
 * 10-minute wait costs about 5% of the approval itself (bench/cost.ts shows the arithmetic), where long-polling the
 * whole time (`longPoll: true`) costs several approvals. To know at once, at no cost while waiting, give the request
 * a `callbackUrl`: Countersign POSTs the signed outcome to it when it settles.
 */
export const POLL_FIRST_MS = 2000;
export const POLL_MAX_MS = 60_000;

/** The gaps the default wait leaves between its GETs, for a wait of `totalMs` (what bench/cost.ts counts). */
export function pollGaps(totalMs: number): number[] {
  const gaps: number[] = [];
  for (let gap = POLL_FIRST_MS, at = gap; at <= totalMs; gap = Math.min(POLL_MAX_MS, gap * 2), at += gap) gaps.push(gap);
  return gaps;
}
/** How long `requestApproval` waits when the caller gives no deadline. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 15 * 60_000;

export type SettledStatus = 'approved' | 'denied' | 'expired' | 'cancelled';

export interface ApprovalOutcome {
  readonly status: SettledStatus;
  readonly id: string;
  /** The whole answer: votes, who decided, when. */
  readonly view: ActionView;
  /** The compact JWS proving the approval (approved only). */
  readonly receipt?: string;
  /** Why it was denied, cancelled or expired, when known. */
  readonly reason?: string;
}

/** The request was still pending when the caller's deadline came; `id` lets the caller wait on it later. */
export class ApprovalDeadlineError extends Error {
  constructor(
    readonly id: string,
    readonly view: ActionView,
  ) {
    super(`request ${id} is still pending at the deadline${view.missing?.length ? ` (missing: ${view.missing.join('; ')})` : ''}`);
    this.name = 'ApprovalDeadlineError';
  }
}

export interface RetryOptions {
  /** Attempts per call, the first included. @default 5 */
  readonly attempts?: number;
  /** First backoff; it doubles per attempt, with full jitter, capped at 10 s. @default 250 */
  readonly baseDelayMs?: number;
}

export interface CountersignOptions extends EndpointOptions {
  /** An endpoint already resolved (the CLI's); overrides url, apiKey, region and credentials. */
  readonly endpoint?: Endpoint;
  readonly retry?: RetryOptions;
}

export interface WaitOptions {
  /** Give up (ApprovalDeadlineError) at this time. @default 15 minutes from now */
  readonly deadline?: Date;
  /** The same as a deadline this many ms from now. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Hold each GET up to 20 s server-side (`?wait=20`), answering within about a second of the outcome, instead of
   * polling with growing gaps. Each held second is billed as function time: long waits cost more than the approval
   * (README "What it costs"); a `callbackUrl` answers at once for nothing while waiting. @default false
   */
  readonly longPoll?: boolean;
}

export interface RequestApprovalOptions extends WaitOptions {
  /** @default a fresh random key per call, reused by its retries */
  readonly idempotencyKey?: string;
}

export interface RunIfApprovedOptions extends RequestApprovalOptions {
  /**
   * Redeem the approval before running, binding the request's parameters: the function runs only for the approval's
   * first redemption, so a retry with the same `idempotencyKey`, a restarted job or a copy of it never runs it twice.
   * `false` runs it on the approval alone, for a function that redeems the receipt itself; without a redemption
   * nothing stops it from running again for the same approval. @default true
   */
  readonly redeem?: boolean;
}

/** What `runIfApproved` did: ran the function (after redeeming the approval), or why not. */
export type ApprovedRun<T> =
  | { readonly ran: true; readonly outcome: ApprovalOutcome & { readonly status: 'approved' }; readonly redemption?: Redemption; readonly result: T }
  | {
      readonly ran: false;
      readonly outcome: ApprovalOutcome;
      /** The API's refusal of the redemption (`already_redeemed`, `parameters_mismatch`, `redemption_lapsed`, ...). */
      readonly refused?: CountersignApiError;
    };

/** The answers by which the API refuses a redemption: nothing may run (one list, in core). */
export { REDEMPTION_REFUSALS };

const pendingSchema = z.object({ items: z.array(actionViewSchema) });
const grantsSchema = z.object({ grants: z.array(grantViewSchema), partial: z.optional(z.literal(true)) });

/** An approver's vote beyond its decision: why, and (approve only) for how long, where the rule allows a grant. */
export interface DecideOptions {
  readonly reason?: string;
  /** Approve for a while (`2h`, `1d`: a grant), up to the rule's `grant.maxFor`. Absent: this call only. */
  readonly for?: string;
  readonly signal?: AbortSignal;
}

/** The answer of a recorded redemption (docs/api.md "POST /v1/actions/{id}/redeem"). */
export interface Redemption {
  readonly id: string;
  readonly redeemedAt: string;
  readonly redeemedBy: string;
}
const redemptionSchema = z.object({ id: z.string(), redeemedAt: z.string(), redeemedBy: z.string() });

/**
 * The commitment a receipt makes to `parameters`, recomputed as the server made it: HMAC-SHA256 with the receipt's
 * `paramsSalt` over their RFC 8785 canonical JSON (a plain SHA-256 for receipts from before salts). Undefined when the
 * receipt cannot be read (the server then refuses it anyway).
 */
export function parametersCommitmentFor(receipt: string, parameters: unknown): string | undefined {
  let claims: { paramsSalt?: unknown; paramsSha256?: unknown };
  try {
    claims = JSON.parse(Buffer.from(receipt.split('.')[1] ?? '', 'base64url').toString('utf8')) ?? {};
  } catch {
    return undefined;
  }
  if (typeof claims.paramsSalt === 'string') return commitment(Buffer.from(claims.paramsSalt, 'base64url'), parameters ?? {});
  return typeof claims.paramsSha256 === 'string' ? parametersHash(parameters ?? {}) : undefined;
}

export class Countersign {
  readonly endpoint: Endpoint;
  private readonly attempts: number;
  private readonly baseDelayMs: number;

  constructor(options: CountersignOptions = {}) {
    this.endpoint = options.endpoint ?? resolveEndpoint(options);
    this.attempts = Math.max(1, options.retry?.attempts ?? 5);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 250;
  }

  /**
   * Asks for approval and waits for the outcome: at once when policy decides, otherwise polling (gaps from 2 s
   * growing to a minute; `longPoll` holds each call up to 20 s instead) until the request settles or the deadline
   * comes (ApprovalDeadlineError, carrying the request id). For long human waits, or to know the moment it settles,
   * prefer a `callbackUrl` in the request: nothing runs, and nothing is billed, while the approvers think.
   */
  async requestApproval(request: ActionRequest, options: RequestApprovalOptions = {}): Promise<ApprovalOutcome> {
    const deadline = deadlineOf(options);
    const view = await this.createAction(request, options);
    return this.waitFor(view, deadline, options);
  }

  /**
   * Asks for approval, waits, redeems the approval (unless `redeem: false`) and only then calls `run`, once: the
   * action runs at most once per approval, however many copies of the caller hold it. Resolves `{ ran: false }` with
   * the outcome when it was not approved, and with `refused` when the API refused the redemption (already redeemed,
   * other parameters, lapsed); rejects as `requestApproval` does (still pending at the deadline, API and network
   * errors), and when the redemption's answer never came (then whether it was redeemed is unknown, and `run` was not
   * called). `run`'s own result or error is passed through.
   */
  async runIfApproved<T>(
    request: ActionRequest,
    run: (outcome: ApprovalOutcome & { readonly status: 'approved' }) => T | Promise<T>,
    options: RunIfApprovedOptions = {},
  ): Promise<ApprovedRun<Awaited<T>>> {
    const outcome = await this.requestApproval(request, options);
    if (!isApproved(outcome)) return { ran: false, outcome };
    let redemption: Redemption | undefined;
    if (options.redeem !== false) {
      if (outcome.receipt === undefined) throw new CountersignApiError(200, 'invalid_response', `${outcome.id} is approved but the API gave no receipt`);
      try {
        redemption = await this.redeem(outcome.id, outcome.receipt, { parameters: request.parameters, ...signalOf(options.signal) });
      } catch (err) {
        if (err instanceof CountersignApiError && REDEMPTION_REFUSALS.has(err.code)) return { ran: false, outcome, refused: err };
        throw err;
      }
    }
    return { ran: true, outcome, ...(redemption ? { redemption } : {}), result: await run(outcome) };
  }

  /** Asks for approval without waiting: the request as created (pending, or already decided by policy). */
  async createAction(request: ActionRequest, options: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<ActionView> {
    // Classic zod's parse (the schema is zod/mini's): a bad request throws its ZodError, as it always has.
    const body = z.parse(actionRequestSchema, request);
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    return this.view({ method: 'POST', path: '/v1/actions', body, headers: { 'idempotency-key': idempotencyKey }, ...signalOf(options.signal) });
  }

  /** The request now, or after holding up to `waitSeconds` (≤ 20) for it to leave pending. */
  getStatus(id: string, options: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<ActionView> {
    const wait = options.waitSeconds === undefined ? undefined : Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor(options.waitSeconds)));
    return this.view({
      method: 'GET',
      path: `/v1/actions/${encodeURIComponent(id)}`,
      ...(wait ? { query: { wait }, timeoutMs: (wait + 10) * 1000 } : {}),
      ...signalOf(options.signal),
    });
  }

  /** Waits for an existing request to settle. */
  async wait(id: string, options: WaitOptions = {}): Promise<ApprovalOutcome> {
    return this.waitFor(await this.getStatus(id, options.signal ? { signal: options.signal } : {}), deadlineOf(options), options);
  }

  /** Withdraws a pending request (the requester only). */
  cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<ActionView> {
    return this.view({ method: 'POST', path: `/v1/actions/${encodeURIComponent(id)}/cancel`, ...signalOf(options.signal) });
  }

  /**
   * Redeems an approval's receipt once, just before running the action (the requester only): resolves on the first
   * redemption of the request; every later one rejects with CountersignApiError `already_redeemed` (409), whose
   * details name when (`redeemedAt`) and by whom (`redeemedBy`). With `parameters`, the commitment of exactly those
   * parameters is sent, so a receipt approved for other parameters is refused (`parameters_mismatch`). Run the action
   * only when this resolves. A retry after a lost answer (the client retries network failures and 5xx) may find its
   * own redemption: `already_redeemed` then names this caller, and the action must be treated as possibly run.
   */
  async redeem(id: string, receipt: string, options: { parameters?: unknown; signal?: AbortSignal } = {}): Promise<Redemption> {
    const parametersCommitment = Object.hasOwn(options, 'parameters') ? parametersCommitmentFor(receipt, options.parameters) : undefined;
    const response = await this.call({
      method: 'POST',
      path: `/v1/actions/${encodeURIComponent(id)}/redeem`,
      body: { receipt, ...(parametersCommitment !== undefined ? { parametersCommitment } : {}) },
      ...signalOf(options.signal),
    });
    return parseAnswer(redemptionSchema, response.json());
  }

  /**
   * An approver's vote. A repeated identical vote is idempotent; a changed one is 409 already_decided. `for` approves
   * for a while (a grant, docs/api.md "Grants"): later matching requests of the same requester are approved at once.
   */
  decide(
    id: string,
    decision: z.infer<typeof decisionSchema>,
    reasonOrOptions?: string | DecideOptions,
    options: { signal?: AbortSignal } = {},
  ): Promise<ActionView> {
    const { reason, for: forDuration, signal } = typeof reasonOrOptions === 'object' ? reasonOrOptions : { reason: reasonOrOptions, ...options };
    return this.view({
      method: 'POST',
      path: `/v1/actions/${encodeURIComponent(id)}/decision`,
      body: {
        decision: z.parse(decisionSchema, decision),
        ...(reason !== undefined ? { reason } : {}),
        ...(forDuration !== undefined ? { for: forDuration } : {}),
      },
      ...signalOf(signal),
    });
  }

  /** The pending requests waiting for the caller's vote, oldest first. */
  async pending(options: { signal?: AbortSignal } = {}): Promise<ActionView[]> {
    const response = await this.call({ method: 'GET', path: '/v1/me/pending', ...signalOf(options.signal) });
    return parseAnswer(pendingSchema, response.json()).items;
  }

  /**
   * The grants the caller may see, newest first: the active ones, or with `status: 'all'` the last 7 days' too.
   * `partial`: the deployment holds more grants than one answer reads (200), so some may be missing.
   */
  async grants(options: { status?: 'active' | 'all'; signal?: AbortSignal } = {}): Promise<{ grants: GrantView[]; partial?: true }> {
    const response = await this.call({
      method: 'GET',
      path: '/v1/grants',
      ...(options.status ? { query: { status: options.status } } : {}),
      ...signalOf(options.signal),
    });
    return parseAnswer(grantsSchema, response.json());
  }

  /** Ends a grant early, with a reason (an approver of its rule, or an auditor); later matching requests are asked again. */
  async revokeGrant(id: string, reason: string, options: { signal?: AbortSignal } = {}): Promise<GrantView> {
    const response = await this.call({ method: 'POST', path: `/v1/grants/${encodeURIComponent(id)}/revoke`, body: { reason }, ...signalOf(options.signal) });
    return parseAnswer(grantViewSchema, response.json());
  }

  private async waitFor(first: ActionView, deadline: number, options: WaitOptions): Promise<ApprovalOutcome> {
    const { signal } = options;
    let view = first;
    let gap = POLL_FIRST_MS;
    while (view.status === 'pending') {
      const left = deadline - Date.now();
      if (left <= 0) throw new ApprovalDeadlineError(view.id, view);
      if (options.longPoll) {
        view = await this.getStatus(view.id, { waitSeconds: Math.max(1, Math.min(MAX_WAIT_SECONDS, Math.floor(left / 1000))), ...(signal ? { signal } : {}) });
        continue;
      }
      // The last look comes at the deadline itself.
      await sleep(Math.min(gap, left), signal);
      gap = Math.min(POLL_MAX_MS, gap * 2);
      view = await this.getStatus(view.id, signal ? { signal } : {});
    }
    return {
      status: view.status,
      id: view.id,
      view,
      ...(view.receipt ? { receipt: view.receipt } : {}),
      ...(view.reason ? { reason: view.reason } : {}),
    };
  }

  private async view(request: ApiRequest): Promise<ActionView> {
    return parseAnswer(actionViewSchema, (await this.call(request)).json());
  }

  /** One API call, retried with backoff on 429, 5xx and network failures (Retry-After honoured); 2xx or a typed error. */
  private async call(request: ApiRequest) {
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const response = await apiRequest(this.endpoint, request);
        if (!retryable(response.status) || attempt >= this.attempts) return expectOk(response);
        retryAfterMs = retryAfter(response.headers.get('retry-after'));
      } catch (err) {
        if (!(err instanceof CountersignApiError) || err.status !== 0 || attempt >= this.attempts || request.signal?.aborted) throw err;
      }
      const backoff = Math.random() * Math.min(10_000, this.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.min(30_000, Math.max(backoff, retryAfterMs ?? 0)), request.signal);
    }
  }
}

const isApproved = (outcome: ApprovalOutcome): outcome is ApprovalOutcome & { readonly status: 'approved' } => outcome.status === 'approved';

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Retry-After in seconds or as an HTTP date. */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function deadlineOf(options: WaitOptions): number {
  if (options.deadline) return options.deadline.getTime();
  return Date.now() + (options.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS);
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** `schema` may be zod/mini's (the request schemas under lambdas/core) or classic zod's. */
function parseAnswer<S extends z.core.$ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = z.safeParse(schema, value);
  if (!parsed.success)
    throw new CountersignApiError(
      200,
      'invalid_response',
      `the API answered something that is not a Countersign request (${parsed.error.issues[0]?.message ?? 'invalid'})`,
    );
  return parsed.data;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
