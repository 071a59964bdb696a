/**
 * The repair job: nothing stays half-done. For each request still listed as pending it completes what a failure
 * cut short. The ledger holds an outcome: complete it (receipt, cached status, the waiting workflow told). Still
 * pending with no workflow (starting it failed after the request was stored): start it. Past its deadline with no
 * workflow left to expire it: expire it. Each step is idempotent, so a repeated or overlapping run changes nothing
 * twice. A run stops taking up requests at `stopAt`; the next run goes on.
 */
import { decideExpiry, deriveState, statusOf } from '../core/approval';
import type { Leases, Ports } from '../core/ports';
import { completeOutcome } from './outcome';

/** No request is taken up with less than this left of the run: room to finish the one in hand and give the lease back. */
export const REPAIR_RESERVE_MS = 10_000;

/** Pending requests looked at per run, oldest first. */
export const REPAIR_BATCH = 500;

export type RepairCounts = { completed: number; started: number; expired: number };

/** One run, if it takes the repair lease (held no longer than the run can last); another run holding it skips this one. */
export async function runRepair(
  ports: RepairPorts,
  leases: Leases,
  options: { readonly remainingMs: number; readonly graceMs: number; readonly onFailure: (requestId: string, err: unknown) => void },
): Promise<RepairCounts & { skipped?: true }> {
  const stopAt = ports.clock.now().getTime() + options.remainingMs - REPAIR_RESERVE_MS;
  const run = await leases.withLease('repair', options.remainingMs, () =>
    repairPending(ports, { stopAt, graceMs: options.graceMs, onFailure: options.onFailure }),
  );
  return run.ran ? run.result : { completed: 0, started: 0, expired: 0, skipped: true };
}

type RepairPorts = Pick<Ports, 'ledger' | 'requests' | 'signer' | 'mac' | 'workflow' | 'clock'>;

export async function repairPending(
  ports: RepairPorts,
  options: { readonly stopAt: number; readonly graceMs: number; readonly onFailure: (requestId: string, err: unknown) => void },
): Promise<RepairCounts> {
  const counts = { completed: 0, started: 0, expired: 0 };
  const now = () => ports.clock.now().getTime();
  for (const id of await ports.requests.listPending(REPAIR_BATCH)) {
    if (now() >= options.stopAt) break;
    try {
      const item = await ports.requests.get(id);
      // A request younger than the grace may still be in its intake or vote: leave it to the call in flight.
      if (!item || now() - Date.parse(item.createdAt) < options.graceMs) continue;
      let chain = await ports.ledger.read(id);
      let state = deriveState(chain);
      if (!state) continue;
      if (statusOf(state) === 'pending') {
        if (await ports.workflow.start(state)) {
          counts.started += 1;
          continue;
        }
        // The workflow exists (or ended). Past the deadline by more than the grace, it failed to expire the request.
        const expiresAt = state.policy?.expiresAt ? Date.parse(state.policy.expiresAt) : undefined;
        if (expiresAt === undefined || now() < expiresAt + options.graceMs) continue;
        ({ chain } = await ports.ledger.append(id, (current) => decideExpiry(current, 'No decision before the timeout.')));
        state = deriveState(chain)!;
        counts.expired += 1;
      } else {
        counts.completed += 1;
      }
      await completeOutcome(ports, state, chain);
    } catch (err) {
      // One request's trouble must not stop the others; the next run tries again.
      options.onFailure(id, err);
    }
  }
  return counts;
}
