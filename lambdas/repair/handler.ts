/**
 * The repair job (scheduled, every minute; app/repair.ts): nothing stays half-done. One run at a time, under the
 * repair lease (adapters/lease.ts), held no longer than the run can last.
 */

import { awsLeases, awsServicePorts } from '../adapters/aws-ports';
import { secondsEnv } from '../adapters/environment';
import { errorName, type LogContext, logged, logger } from '../adapters/logger';
import { withMetrics } from '../adapters/metrics';
import { type RepairCounts, runRepair } from '../app/repair';

const DEFAULT_GRACE_SECONDS = 60;
/** Without an invocation context (a direct call), the run's time. */
const DEFAULT_REMAINING_MS = 50_000;

/** Its metrics published as it ends (adapters/metrics.ts). */
export const handler = withMetrics(
  logged(
    async (
      _event?: unknown,
      context?: LogContext & { getRemainingTimeInMillis?: () => number },
    ): Promise<RepairCounts & { skipped?: true; grantsEnded?: number }> => {
      const counts = await runRepair(awsServicePorts, awsLeases, {
        remainingMs: context?.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS,
        // A request younger than this may still be in its intake or vote: leave it to the call in flight.
        graceMs: (secondsEnv('repairGrace') ?? DEFAULT_GRACE_SECONDS) * 1000,
        // The run covers many requests: the line names the one that failed as its correlation id.
        onFailure: (requestId, err) => logger.error('repair failed', { correlation_id: requestId, error: errorName(err) }),
        onRepaired: (requestId, kind) => logger.info('repaired request', { correlation_id: requestId, kind }),
      });
      if (counts.skipped) logger.info('repair run skipped: another run holds the lease');
      else if (counts.completed + counts.started + counts.expired + (counts.grantsEnded ?? 0) > 0) logger.info('repaired', { ...counts });
      else logger.debug('nothing to repair');
      return counts;
    },
  ),
);
