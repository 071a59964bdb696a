/**
 * Finalize and Expire tasks: make sure the ledger holds the outcome (an expiry when the timeout fired first), then
 * complete it (receipt, cached status). Callback task: tell the requester. Step Functions retries each step.
 */

import { awsPorts } from '../adapters/aws-ports';
import { callbackSender } from '../adapters/callback';
import { callbackNetwork } from '../adapters/environment';
import { withMetrics } from '../adapters/metrics';
import { finalizeRequest, tellRequester } from '../app/finalize';
import { finalizeEventSchema } from '../core/workflow';
import * as z from '../core/zod';

/** Its metrics published as it ends (adapters/metrics.ts). */
export const handler = withMetrics(finalize);

async function finalize(event: unknown): Promise<{ status: string }> {
  const { requestId, error, callback } = z.parse(finalizeEventSchema, event);
  if (!callback) return finalizeRequest(awsPorts, requestId, error);
  const network = callbackNetwork();
  // Ports are passed as they are, never spread: each is wired (and its variables read) only when used.
  return tellRequester(awsPorts, { sender: callbackSender(awsPorts.signer, network), network }, requestId, (err) =>
    console.warn(JSON.stringify({ level: 'warn', msg: 'requester Slack DM failed', requestId, error: String((err as Error).name) })),
  );
}
