/**
 * The scheduled checkpointer: every few minutes (EventBridge on AWS, a timer in local mode) it signs a checkpoint
 * committing to every ledger record written since the last one. One run at a time: a run first takes the
 * checkpoint lease (see adapters/lease.ts), held no longer than the run can last, and a run that finds it held
 * exits at once. A run that overlaps anyway loses the conditional write of the checkpoint and stops.
 */
import { CheckpointStore } from '../adapters/checkpoints';
import { dynamo, kms, requiredEnv } from '../adapters/aws-clients';
import { secondsEnv } from '../adapters/environment';
import { withLease } from '../adapters/lease';
import type { Checkpoint } from '../core/checkpoint';

const DEFAULT_SETTLE_SECONDS = 60;
/** Time kept back from the function's timeout to finish the checkpoint in hand (and give the lease back). */
export const CHECKPOINT_RESERVE_MS = 15_000;
/** Without an invocation context (a direct call), the run's time. */
const DEFAULT_REMAINING_MS = 60_000;

let store: CheckpointStore | undefined;

type Summary = Array<Pick<Checkpoint, 'seq' | 'until' | 'count' | 'total'>>;

export async function handler(_event: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<{ checkpoints: Summary; skipped?: true }> {
  store ??= new CheckpointStore({ tableName: requiredEnv('ledgerTable'), keyId: requiredEnv('ledgerKeyId'), dynamo, kms });
  const settle = secondsEnv('checkpointSettle') ?? Number.NaN;
  const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
  const started = Date.now();
  const run = await withLease({ dynamo, tableName: requiredEnv('leaseTable'), name: 'checkpoint', durationMs: remaining }, async () => {
    const written = await store!.run({
      settleSeconds: Number.isFinite(settle) && settle > 0 ? settle : DEFAULT_SETTLE_SECONDS,
      deadline: started + Math.max(0, remaining - CHECKPOINT_RESERVE_MS),
    });
    return written.map(({ seq, until, count, total }) => ({ seq, until, count, total }));
  });
  if (!run.ran) {
    console.log(JSON.stringify({ message: 'checkpoint run skipped: another run holds the lease' }));
    return { checkpoints: [], skipped: true };
  }
  if (run.result.length > 0) console.log(JSON.stringify({ message: 'checkpoints written', checkpoints: run.result }));
  return { checkpoints: run.result };
}
