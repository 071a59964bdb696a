/**
 * Finalize and Expire tasks: make sure the ledger holds the outcome (an expiry when the timeout fired first), then
 * complete it (receipt, cached status). Callback task: tell the requester. Lapse task: an approval nobody redeemed
 * within its rule's `redeemWithin` lapses. Step Functions retries each step.
 */

import { awsPorts } from '../adapters/aws-ports';
import { callbackSender } from '../adapters/callback';
import { callbackNetwork } from '../adapters/environment';
import { errorName, type LogContext, logged, logger, taskRequestId } from '../adapters/logger';
import { withMetrics } from '../adapters/metrics';
import { finalizeRequest, lapseApproval, tellRequester } from '../app/finalize';
import { finalizeEventSchema } from '../core/workflow';
import * as z from '../core/zod';

/** Its lines carry the request as correlation id (the outcome's receipt is never logged); its metrics are published as it ends. */
export const handler = withMetrics(logged(finalize, taskRequestId));

async function finalize(event: unknown, _context?: LogContext): Promise<{ status: string; redeemBy?: string }> {
  const { requestId, error, callback, lapse } = z.parse(finalizeEventSchema, event);
  if (lapse) {
    const result = await lapseApproval(awsPorts, requestId);
    logger.info('redeem window closed', { status: result.status });
    return result;
  }
  if (!callback) {
    const result = await finalizeRequest(awsPorts, requestId, error);
    logger.info('outcome recorded', { status: result.status, ...(error ? { workflowEnd: error.Error } : {}) });
    return result;
  }
  const network = callbackNetwork();
  // Ports are passed as they are, never spread: each is wired (and its variables read) only when used.
  const told = await tellRequester(awsPorts, { sender: callbackSender(awsPorts.signer, network), network }, requestId, (err) =>
    logger.warn('requester Slack DM failed', { error: errorName(err) }),
  ).catch((err: unknown) => {
    // Step Functions retries the task; the error's message may quote the callback URL, so only its name is logged.
    logger.warn('callback not delivered', { error: errorName(err) });
    throw err;
  });
  logger.info('requester told', { status: told.status });
  return told;
}
