/**
 * The repair job (scheduled, every minute): nothing stays half-done. For each request still listed as pending it
 * completes what a failure cut short. The ledger holds an outcome: complete it (receipt, cached status, the waiting
 * workflow told). Still pending with no workflow (StartExecution failed after the request was stored): start it.
 * Past its deadline with no workflow left to expire it: expire it. Each step is idempotent, so a repeated or
 * overlapping run changes nothing twice. One run at a time all the same: a run takes the repair lease (see
 * adapters/lease.ts), held no longer than the run can last, and a run that finds it held exits at once. A run stops
 * taking up requests when too little of its time is left to finish one; the next run goes on.
 */
import { decideExpiry, deriveState, statusOf } from '../core/approval';
import { completeOutcome, ledger } from '../adapters/ledger';
import { getRequestItem, listPendingIds } from '../adapters/request-store';
import { startWorkflow } from '../adapters/workflow-start';
import { dynamo, requiredEnv } from '../adapters/aws-clients';
import { secondsEnv } from '../adapters/environment';
import { withLease } from '../adapters/lease';

const DEFAULT_GRACE_SECONDS = 60;
/** Pending requests looked at per run, oldest first. */
const BATCH = 500;
/** No request is taken up with less than this left of the run: room to finish the one in hand and give the lease back. */
export const REPAIR_RESERVE_MS = 10_000;
/** Without an invocation context (a direct call), the run's time. */
const DEFAULT_REMAINING_MS = 50_000;

type Counts = { completed: number; started: number; expired: number };

export async function handler(_event?: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<Counts & { skipped?: true }> {
  const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
  const stopAt = Date.now() + remaining - REPAIR_RESERVE_MS;
  const run = await withLease({ dynamo, tableName: requiredEnv('leaseTable'), name: 'repair', durationMs: remaining }, () => repair(stopAt));
  if (!run.ran) {
    console.log(JSON.stringify({ message: 'repair run skipped: another run holds the lease' }));
    return { completed: 0, started: 0, expired: 0, skipped: true };
  }
  return run.result;
}

async function repair(stopAt: number): Promise<Counts> {
  // A request younger than this may still be in its intake or vote: leave it to the call in flight.
  const graceMs = (secondsEnv('repairGrace') ?? DEFAULT_GRACE_SECONDS) * 1000;
  const counts = { completed: 0, started: 0, expired: 0 };
  for (const id of await listPendingIds(BATCH)) {
    if (Date.now() >= stopAt) break;
    try {
      const item = await getRequestItem(id);
      if (!item || Date.now() - Date.parse(item.createdAt) < graceMs) continue;
      let chain = await ledger().read(id);
      let state = deriveState(chain);
      if (!state) continue;
      if (statusOf(state) === 'pending') {
        if (await startWorkflow(state)) {
          counts.started += 1;
          continue;
        }
        // The workflow exists (or ended). Past the deadline by more than the grace, it failed to expire the request.
        const expiresAt = state.policy?.expiresAt ? Date.parse(state.policy.expiresAt) : undefined;
        if (expiresAt === undefined || Date.now() < expiresAt + graceMs) continue;
        ({ chain } = await ledger().append(id, (current) => decideExpiry(current, 'No decision before the timeout.')));
        state = deriveState(chain)!;
        counts.expired += 1;
      } else {
        counts.completed += 1;
      }
      await completeOutcome(state, chain);
    } catch (err) {
      // One request's trouble must not stop the others; the next run tries again.
      console.error(JSON.stringify({ level: 'error', msg: 'repair failed', requestId: id, error: String((err as Error).name) }));
    }
  }
  if (counts.completed + counts.started + counts.expired > 0) console.log(JSON.stringify({ message: 'repaired', ...counts }));
  return counts;
}
