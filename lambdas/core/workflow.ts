/** The messages between the approval workflow (Step Functions) and its functions, declared once for both sides. */
import * as z from './zod';

/** Step Functions' largest task timeout (TimeoutSeconds / TimeoutSecondsPath), in seconds. */
export const MAX_TASK_TIMEOUT_SECONDS = 99_999_999;

/**
 * When the Notify task next times out to let the Wake step remind, escalate or expire (`$.wait`, read as its
 * TimeoutSecondsPath): at least one second while the request runs, since Step Functions fails the execution with
 * States.Runtime, which no Catch handles, on a timeout below 1; `expired` goes to Expire instead and waits for nothing.
 */
export const workflowWaitSchema = z.discriminatedUnion('expired', [
  z.strictObject({ expired: z.literal(false), seconds: z.int().check(z.gte(1), z.lte(MAX_TASK_TIMEOUT_SECONDS)) }),
  z.strictObject({ expired: z.literal(true), seconds: z.literal(0) }),
]);
export type WorkflowWait = z.infer<typeof workflowWaitSchema>;

/** Execution input; `wait.seconds` drives the Notify task's TimeoutSecondsPath. */
export const workflowInputSchema = z.strictObject({
  requestId: z.string().check(z.minLength(1)),
  timeoutSeconds: z.int().check(z.gte(1), z.lte(365 * 86_400)),
  wait: workflowWaitSchema,
});

/** Payload of the Wake task: reminders, escalation, or the deadline. Answers the next `wait`. */
export const wakeEventSchema = z.strictObject({ requestId: z.string().check(z.minLength(1)), wake: z.literal(true) });
export type WorkflowInput = z.infer<typeof workflowInputSchema>;

/** Payload of the Notify task (lambda:invoke.waitForTaskToken). */
export const notifyEventSchema = z.strictObject({
  requestId: z.string().check(z.minLength(1)),
  taskToken: z.string().check(z.minLength(1), z.maxLength(2048)),
});
export type NotifyEvent = z.infer<typeof notifyEventSchema>;

/** What SendTaskSuccess reports once the outcome is settled. */
export const settledOutcomeSchema = z.strictObject({
  status: z.enum(['approved', 'denied', 'expired', 'cancelled']),
});

/** Payload of the Finalize task: a settled outcome, or the Notify task's error (timeout, or notification failed). */
export const finalizeEventSchema = z.strictObject({
  requestId: z.string().check(z.minLength(1)),
  /** The Callback step: tell the requester the outcome. */
  callback: z.optional(z.literal(true)),
  /** The Lapse step, at the end of the redeem window: an approval nobody redeemed lapses. */
  lapse: z.optional(z.literal(true)),
  outcome: z.optional(settledOutcomeSchema),
  error: z.optional(z.looseObject({ Error: z.string(), Cause: z.optional(z.string()) })),
});
export type FinalizeEvent = z.infer<typeof finalizeEventSchema>;

/**
 * What Finalize and Expire answer (`$.finalized`): the status, and for an approval under a rule's `redeemWithin` that
 * is not redeemed yet, when its redeem window ends (`redeemBy`, the Wait step's TimestampPath: whole seconds, `Z`).
 */
export const finalizedSchema = z.strictObject({
  status: z.string(),
  redeemBy: z.optional(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/))),
});
export type Finalized = z.infer<typeof finalizedSchema>;

/** A time as a Wait step's timestamp: RFC 3339 in UTC, rounded up to the whole second, so it never comes early. */
export function waitTimestamp(at: Date): string {
  return new Date(Math.ceil(at.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Execution names derive from the request id, so a retried intake can never start a second workflow. */
export function executionName(requestId: string): string {
  return requestId;
}

/** The error the notifier raises for a request settled before it ran; the workflow skips retries for it. */
export const ALREADY_SETTLED_ERROR = 'Countersign.AlreadySettled';

export class AlreadySettledError extends Error {
  constructor(requestId: string) {
    super(`request ${requestId} is already settled`);
    this.name = ALREADY_SETTLED_ERROR;
  }
}

/** Raised when a request's callback URL is refused outright: retrying cannot help. */
export const CALLBACK_REFUSED_ERROR = 'Countersign.CallbackRefused';
