/**
 * The repair job (scheduled, every minute): nothing stays half-done. For each request still listed as pending it
 * completes what a failure cut short. The ledger holds an outcome: complete it (receipt, cached status, the waiting
 * workflow told). Still pending with no workflow (StartExecution failed after the request was stored): start it.
 * Past its deadline with no workflow left to expire it: expire it. Each step is idempotent, so a repeated or
 * overlapping run changes nothing twice.
 */
import { decideExpiry, deriveState, statusOf } from '../core/approval';
import { completeOutcome, ledger } from '../adapters/ledger';
import { getRequestItem, listPendingIds } from '../adapters/request-store';
import { startWorkflow } from '../adapters/workflow-start';

const DEFAULT_GRACE_SECONDS = 60;
/** Pending requests looked at per run, oldest first. */
const BATCH = 500;

export async function handler(): Promise<{ completed: number; started: number; expired: number }> {
  const graceSeconds = Number(process.env.REPAIR_GRACE_SECONDS);
  // A request younger than this may still be in its intake or vote: leave it to the call in flight.
  const graceMs = (Number.isFinite(graceSeconds) && graceSeconds >= 0 ? graceSeconds : DEFAULT_GRACE_SECONDS) * 1000;
  const counts = { completed: 0, started: 0, expired: 0 };
  for (const id of await listPendingIds(BATCH)) {
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
