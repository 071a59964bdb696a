/** The action request an agent sends (docs/api.md "Agents") and the stored request it becomes. */
import { createHash } from 'node:crypto';
import * as z from './zod';

/** Request ids as intake makes them; anything else is not a request (and needs no lookup). */
export const REQUEST_ID_PATTERN = /^act_[A-Za-z0-9_-]{1,64}$/;

export const ACTION_PATTERN = /^[a-z0-9_.:-]{1,128}$/;

/**
 * What `parameters` may hold, so every accepted request can be stored as a ledger record and masked: DynamoDB nests
 * at most 32 levels (the record adds 3), keeps numbers within 1e-130..1e126 and 38 digits, and an item at most
 * 400 KB (a value costs a few bytes more there than in JSON); integers beyond 2^53 lose precision in JSON anyway.
 * Prototype keys never mean anything to a tool and break object handling downstream.
 */
export const PARAMETER_LIMITS = { depth: 16, values: 5000 } as const;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The problems of a `parameters` value (as parsed from JSON), each with its path; at most 20. */
export function parameterProblems(value: unknown): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  let values = 0;
  // Iterative, so a hostile nesting depth cannot exhaust the stack before the depth limit is seen.
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value, path: [] }];
  while (stack.length > 0 && problems.length < 20) {
    const { value: v, path } = stack.pop()!;
    values += 1;
    if (values > PARAMETER_LIMITS.values) {
      problems.push({ path: [], message: `more than ${PARAMETER_LIMITS.values} values` });
      break;
    }
    if (path.length > PARAMETER_LIMITS.depth) {
      problems.push({ path, message: `nested deeper than ${PARAMETER_LIMITS.depth} levels` });
      continue;
    }
    if (typeof v === 'number') {
      if (Number.isInteger(v) && !Number.isSafeInteger(v))
        problems.push({ path, message: 'an integer beyond ±(2^53 - 1) loses precision: send it as a string' });
      else if (v !== 0 && (Math.abs(v) < 1e-130 || Math.abs(v) >= 1e126))
        problems.push({ path, message: 'a number outside 1e-130..1e126: send it as a string' });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ value: item, path: [...path, i] }));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (FORBIDDEN_KEYS.has(key)) problems.push({ path: [...path, key], message: `"${key}" is not allowed as a key` });
        else stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return problems;
}

export const actionRequestSchema = z.strictObject({
  action: z.string().check(z.regex(ACTION_PATTERN, 'expected 1-128 characters of a-z 0-9 _ . : -')),
  resource: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  environment: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  // Checked as parsed from JSON, before the record schema (which would silently drop a `__proto__` key).
  parameters: z.optional(
    z.pipe(
      z.unknown().check(
        z.superRefine((value, ctx) => {
          for (const problem of parameterProblems(value)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
        }),
      ),
      z.record(z.string(), z.unknown()),
    ),
  ),
  justification: z.optional(z.string().check(z.maxLength(4000))),
  onBehalfOf: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  agent: z.optional(
    z.strictObject({
      name: z.optional(z.string().check(z.maxLength(256))),
      model: z.optional(z.string().check(z.maxLength(256))),
      runId: z.optional(z.string().check(z.maxLength(256))),
    }),
  ),
  /** Gets a signed POST when the request settles (https; http to loopback in local mode). */
  callbackUrl: z.optional(z.string().check(z.maxLength(2048))),
});
export type ActionRequest = z.infer<typeof actionRequestSchema>;

/**
 * A request as the ledger records it: already masked (core/masking.ts), so a field may be longer than intake
 * allows (a marker such as `[masked: connection_string_password, 2 chars]` is longer than the secret it replaces)
 * and hold marker characters the action pattern refuses. The shape is the same; the limits were checked at intake.
 */
export const storedRequestSchema = z.strictObject({
  action: z.string().check(z.minLength(1)),
  resource: z.optional(z.string()),
  environment: z.optional(z.string()),
  parameters: z.optional(z.record(z.string(), z.unknown())),
  justification: z.optional(z.string()),
  onBehalfOf: z.optional(z.string()),
  agent: z.optional(z.strictObject({ name: z.optional(z.string()), model: z.optional(z.string()), runId: z.optional(z.string()) })),
  callbackUrl: z.optional(z.string()),
});

export const REQUEST_STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
export const requestStatusSchema = z.enum(REQUEST_STATUSES);
export type RequestStatus = z.infer<typeof requestStatusSchema>;

/** The requests table's sparse index of pending requests, spread over PENDING_SHARDS partitions. */
export const PENDING_INDEX = 'pending';
export const PENDING_SHARDS = 8;
/**
 * The requests table's sparse index of pending requests by `repairAt` (partition `pendingShard`): the repair job
 * queries the due ones, and it projects each request's pending summary for "what waits for me".
 */
export const REPAIR_INDEX = 'repair';
/** The summary attributes the repair index projects (core/ports.ts `PendingSummary`). */
export const PENDING_SUMMARY_ATTRIBUTES = ['createdAt', 'requester', 'approvers', 'onBehalfOf', 'expiresAt', 'voters'] as const;
/** `repairAt` of a pending request with no deadline: it stays in the index, never due. */
export const NEVER = '9999-12-31T23:59:59.999Z';

/**
 * Which of `shards` (at most 256) index partitions a request's items go to: stable, from its id alone, and even.
 * The ledger's slot index and the pending index both spread writes this way.
 */
export function shardOf(requestId: string, shards: number): number {
  return createHash('sha256').update(requestId).digest()[0]! % shards;
}

/** A pending request's shard in the pending index. */
export function pendingShardOf(id: string): string {
  return `p${shardOf(id, PENDING_SHARDS)}`;
}

export const decidedBySchema = z.enum(['policy', 'approvers', 'timeout', 'requester', 'grant']);
/** An approver's vote, on every channel. */
export const decisionSchema = z.enum(['approve', 'deny']);
export type Decision = z.infer<typeof decisionSchema>;

/**
 * A request as the API answers it (docs/api.md "The request as every answer shows it"). Not strict: a client
 * reading it keeps working when the API adds a field.
 */
export const actionViewSchema = z.object({
  id: z.string(),
  status: requestStatusSchema,
  action: z.string(),
  resource: z.optional(z.string()),
  environment: z.optional(z.string()),
  requester: z.string(),
  onBehalfOf: z.optional(z.string()),
  rule: z.optional(z.string()),
  requiredApprovals: z.number(),
  /** `forSeconds`: the approver approved for a while (a grant), not this call only. */
  votes: z.array(
    z.object({ approver: z.string(), decision: decisionSchema, reason: z.optional(z.string()), forSeconds: z.optional(z.number()), at: z.string() }),
  ),
  decidedBy: z.optional(decidedBySchema),
  decidedAt: z.optional(z.string()),
  reason: z.optional(z.string()),
  createdAt: z.string(),
  expiresAt: z.optional(z.string()),
  /** What a pending request still needs, e.g. `1 more from security`. */
  missing: z.optional(z.array(z.string())),
  /** The compact JWS receipt of an approved request. */
  receipt: z.optional(z.string()),
  /** Once the receipt was redeemed (`POST /v1/actions/{id}/redeem`): when, and by whom. */
  redeemedAt: z.optional(z.string()),
  redeemedBy: z.optional(z.string()),
  /** The grant this approval made (approvers approved for a while): its id and when it lapses. */
  grant: z.optional(z.object({ id: z.string(), until: z.string() })),
  /** Approved at once by a grant: which, and the request whose approval made it. */
  grantedBy: z.optional(z.object({ grant: z.string(), request: z.string() })),
  /** An approval under a rule's `redeemWithin`, not redeemed yet: the time it lapses unless redeemed before. */
  redeemBy: z.optional(z.string()),
  /** When an approval lapsed unredeemed (the `expired` record after `approved`); the status is then `expired`. */
  lapsedAt: z.optional(z.string()),
});
export type ActionView = z.infer<typeof actionViewSchema>;
