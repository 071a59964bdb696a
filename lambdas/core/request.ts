/** The action request an agent sends (API.md "Agents") and the stored request it becomes. */
import { z } from 'zod';

/** Request ids as intake makes them; anything else is not a request (and needs no lookup). */
export const REQUEST_ID_PATTERN = /^act_[A-Za-z0-9_-]{1,64}$/;

export const ACTION_PATTERN = /^[a-z0-9_.:-]{1,128}$/;

export const actionRequestSchema = z.strictObject({
  action: z.string().regex(ACTION_PATTERN, 'expected 1-128 characters of a-z 0-9 _ . : -'),
  resource: z.string().min(1).max(2048).optional(),
  environment: z.string().min(1).max(128).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  justification: z.string().max(4000).optional(),
  onBehalfOf: z.string().min(1).max(256).optional(),
  agent: z
    .strictObject({ name: z.string().max(256).optional(), model: z.string().max(256).optional(), runId: z.string().max(256).optional() })
    .optional(),
  /** Gets a signed POST when the request settles (https; http to loopback in local mode). */
  callbackUrl: z.string().max(2048).optional(),
});
export type ActionRequest = z.infer<typeof actionRequestSchema>;

export const REQUEST_STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
export const requestStatusSchema = z.enum(REQUEST_STATUSES);
export type RequestStatus = z.infer<typeof requestStatusSchema>;

/** The requests table's sparse index of pending requests, spread over PENDING_SHARDS partitions. */
export const PENDING_INDEX = 'pending';
export const PENDING_SHARDS = 8;

/** A pending request's shard in the pending index: stable, from its id. */
export function pendingShardOf(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return `p${h % PENDING_SHARDS}`;
}

export const decidedBySchema = z.enum(['policy', 'approvers', 'timeout', 'requester']);
export const decisionSchema = z.enum(['approve', 'deny']);

/**
 * A request as the API answers it (API.md "Body of every answer"). Not strict: a client reading it keeps working
 * when the API adds a field.
 */
export const actionViewSchema = z.object({
  id: z.string(),
  status: requestStatusSchema,
  action: z.string(),
  resource: z.string().optional(),
  environment: z.string().optional(),
  requester: z.string(),
  onBehalfOf: z.string().optional(),
  rule: z.string().optional(),
  requiredApprovals: z.number(),
  votes: z.array(z.object({ approver: z.string(), decision: decisionSchema, reason: z.string().optional(), at: z.string() })),
  decidedBy: decidedBySchema.optional(),
  decidedAt: z.string().optional(),
  reason: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  /** What a pending request still needs, e.g. `1 more from security`. */
  missing: z.array(z.string()).optional(),
  /** The compact JWS receipt of an approved request. */
  receipt: z.string().optional(),
});
export type ActionView = z.infer<typeof actionViewSchema>;
