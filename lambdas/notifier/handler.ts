/**
 * Notify task (lambda:invoke.waitForTaskToken) and Wake task of the approval workflow (app/notify.ts): Notify keeps
 * the task token server-side and asks the approvers on the rule's channels; Wake reminds and escalates as due and
 * says when to wake next. Every send is over before the invocation would time out, with room to ledger what was sent.
 */

import { awsPorts } from '../adapters/aws-ports';
import { errorName, type LogContext, logged, logger, taskRequestId } from '../adapters/logger';
import { withMetrics } from '../adapters/metrics';
import { NOTIFY_BUDGET_MS } from '../app/notifications';
import { notifyApprovers, wakeRequest } from '../app/notify';
import { AlreadySettledError, notifyEventSchema, type WorkflowWait, wakeEventSchema } from '../core/workflow';
import * as z from '../core/zod';

/**
 * Time kept back from the invocation for recording what was sent (reading the chain, signing with KMS, the
 * conditional write): the sends stop this long before the function would time out. A function that timed out
 * before recording would be retried by Step Functions, and every approver asked again.
 */
export const NOTIFIED_RECORD_RESERVE_MS = 8000;

/** What the handler needs of the Lambda context: its remaining time bounds the sends. */
export interface NotifierContext extends LogContext {
  getRemainingTimeInMillis(): number;
}

/** Its lines carry the request as correlation id (the task token is never logged); its metrics are published as it ends. */
export const handler = withMetrics(logged(notify, taskRequestId));

/** Notify (with a task token) or Wake (`wake: true`: remind, escalate, or report the deadline). */
async function notify(event: unknown, context?: NotifierContext): Promise<{ notified: number } | WorkflowWait> {
  // When the sends must be over: the invocation's end less the record's reserve (without a context, the retry budget).
  const remaining = context?.getRemainingTimeInMillis() ?? NOTIFY_BUDGET_MS + NOTIFIED_RECORD_RESERVE_MS;
  const deadline = awsPorts.clock.now().getTime() + Math.max(0, remaining - NOTIFIED_RECORD_RESERVE_MS);
  const wake = wakeEventSchema.safeParse(event);
  if (wake.success) {
    const wait = await wakeRequest(awsPorts, wake.data.requestId, deadline);
    logger.info('woke', { expired: wait.expired, nextWakeSeconds: wait.seconds });
    return wait;
  }
  const { requestId, taskToken } = z.parse(notifyEventSchema, event);
  const result = await notifyApprovers(awsPorts, requestId, taskToken, deadline).catch((err: unknown) => {
    // Step Functions retries the task (or, for a request settled first, closes the workflow); the error's name only
    // (a channel's message may quote an address).
    if (err instanceof AlreadySettledError) logger.info('request settled before its approvers were asked');
    else logger.warn('approvers not notified', { error: errorName(err) });
    throw err;
  });
  logger.info('approvers notified', { notified: result.notified });
  return result;
}
