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
