/**
 * The scheduled checkpointer: every few minutes it signs a checkpoint committing to every ledger record written
 * since the last one. One run at a time: a run first takes the checkpoint lease, held no longer than the run can
 * last, and a run that finds it held does nothing. A run that overlaps anyway loses the conditional write of the
 * checkpoint and stops.
 */
import type { Checkpoint } from '../core/checkpoint';
import type { CheckpointWriter, Leases, Ports } from '../core/ports';

/** Time kept back from the run's time to finish the checkpoint in hand (and give the lease back). */
export const CHECKPOINT_RESERVE_MS = 15_000;

export type CheckpointSummary = Array<Pick<Checkpoint, 'seq' | 'until' | 'count' | 'total'>>;

export async function writeCheckpoints(
  ports: Pick<Ports, 'clock' | 'metrics'> & { readonly checkpoints: CheckpointWriter; readonly leases: Leases },
  options: { readonly settleSeconds: number; readonly remainingMs: number },
): Promise<{ checkpoints: CheckpointSummary; skipped?: true }> {
  const started = ports.clock.now().getTime();
  const run = await ports.leases.withLease('checkpoint', options.remainingMs, async () => {
    // Counted as each is written, and published even when the run fails part-way: what was written counts.
    const written: Checkpoint[] = [];
    try {
      await ports.checkpoints.run({
        settleSeconds: options.settleSeconds,
        deadline: started + Math.max(0, options.remainingMs - CHECKPOINT_RESERVE_MS),
        onWritten: (checkpoint) => written.push(checkpoint),
      });
    } finally {
      const newest = written.at(-1);
      if (newest) {
        ports.metrics.count('checkpointsWritten', {}, written.length);
        // How far behind the clock the ledger's signed coverage is, as this run leaves it.
        ports.metrics.timing('checkpointLag', {}, Math.max(0, (ports.clock.now().getTime() - Date.parse(newest.until)) / 1000));
      }
    }
    return written.map(({ seq, until, count, total }) => ({ seq, until, count, total }));
  });
  return run.ran ? { checkpoints: run.result } : { checkpoints: [], skipped: true };
}
