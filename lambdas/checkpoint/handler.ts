/**
 * The scheduled checkpointer (EventBridge on AWS, a timer in local mode; app/checkpoint.ts): signs a checkpoint
 * committing to every ledger record written since the last one, one run at a time under the checkpoint lease.
 */

import { awsCheckpoints, awsLeases, systemClock } from '../adapters/aws-ports';
import { secondsEnv } from '../adapters/environment';
import { type LogContext, logged, logger } from '../adapters/logger';
import { emfMetrics, withMetrics } from '../adapters/metrics';
import { type CheckpointSummary, writeCheckpoints } from '../app/checkpoint';

const DEFAULT_SETTLE_SECONDS = 60;
/** Without an invocation context (a direct call), the run's time. */
const DEFAULT_REMAINING_MS = 60_000;

/** Its metrics published as it ends (adapters/metrics.ts). */
export const handler = withMetrics(
  logged(
    async (
      _event: unknown,
      context?: LogContext & { getRemainingTimeInMillis?: () => number },
    ): Promise<{ checkpoints: CheckpointSummary; skipped?: true }> => {
      const settle = secondsEnv('checkpointSettle');
      const run = await writeCheckpoints(
        { clock: systemClock, metrics: emfMetrics, checkpoints: awsCheckpoints(), leases: awsLeases },
        { settleSeconds: settle && settle > 0 ? settle : DEFAULT_SETTLE_SECONDS, remainingMs: context?.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS },
      );
      if (run.skipped) logger.info('checkpoint run skipped: another run holds the lease');
      else if (run.checkpoints.length > 0) logger.info('checkpoints written', { checkpoints: run.checkpoints });
      else logger.debug('no checkpoint due');
      return run;
    },
  ),
);
