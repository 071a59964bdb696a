/**
 * The repair job: nothing stays half-done. It completes what a failure cut short. The ledger holds an outcome:
 * complete it (receipt, cached status, the waiting workflow told). Still pending with no workflow (starting it failed
 * after the request was stored): start it. Past its deadline with no workflow left to expire it: expire it. Each
 * step is idempotent, so a repeated or overlapping run changes nothing twice.
 *
 * It reads only the requests that might be stuck: each pending request's item says when it next might be
 * (`repairAt`, on the requests table's repair index), and a run takes those due a grace ago, oldest first, until
 * its time is up; the next run goes on from there, since each one looked at is due again only at its next
 * `repairAt`. A pending request is due at its creation (its workflow may not have started), then at its deadline
 * (the workflow may have failed to expire it), and at once while a vote or cancel settles it (cleared with the
 * cached status, so a crash between the ledger and the item leaves it due). See docs/design.md "Repair".
 */
import { type ApprovalState, decideExpiry, deriveState, statusOf } from '../core/approval';
import type { AuditRecord } from '../core/ledger-record';
import type { Leases, Ports } from '../core/ports';
import { NEVER } from '../core/request';
import { endChangedGrants } from './grants';
import { countAppended } from './metrics';
import { completeOutcome } from './outcome';

/** No request is taken up with less than this left of the run: room to finish the one in hand and give the lease back. */
export const REPAIR_RESERVE_MS = 10_000;

/** A request whose repair failed is due again after this long, so it does not hold up the ones behind it. */
export const REPAIR_RETRY_MS = 5 * 60_000;

export type RepairCounts = { completed: number; started: number; expired: number };

/** What the repair job did to one request: its workflow started, its expiry recorded, or its outcome completed. */
export type RepairedListener = (requestId: string, kind: keyof RepairCounts) => void;

/** One run, if it takes the repair lease (held no longer than the run can last); another run holding it skips this one. */
export async function runRepair(
  ports: RepairPorts,
  leases: Leases,
  options: {
    readonly remainingMs: number;
    readonly graceMs: number;
    readonly onFailure: (requestId: string, err: unknown) => void;
    /** Told of each request the run repaired, and how. */
    readonly onRepaired?: RepairedListener;
  },
): Promise<RepairCounts & { skipped?: true; grantsEnded?: number }> {
  const stopAt = ports.clock.now().getTime() + options.remainingMs - REPAIR_RESERVE_MS;
  const run = await leases.withLease('repair', options.remainingMs, async () => {
    const counts = await repairPending(ports, {
      stopAt,
      graceMs: options.graceMs,
      onFailure: options.onFailure,
      ...(options.onRepaired ? { onRepaired: options.onRepaired } : {}),
    });
    // A grant whose rule a policy change ended stays ended (app/grants.ts).
    const grantsEnded = await endChangedGrants(ports, { stopAt, onFailure: options.onFailure });
    return grantsEnded > 0 ? { ...counts, grantsEnded } : counts;
  });
  return run.ran ? run.result : { completed: 0, started: 0, expired: 0, skipped: true };
}

type RepairPorts = Pick<Ports, 'ledger' | 'requests' | 'grants' | 'signer' | 'mac' | 'workflow' | 'clock' | 'metrics' | 'policy'>;

/** When a pending request that is fine might next be stuck: at its deadline, when its workflow should expire it. */
export function nextRepairAt(state: ApprovalState): string {
  return state.policy?.expiresAt ?? NEVER;
}

export async function repairPending(
  ports: RepairPorts,
  options: {
    readonly stopAt: number;
    readonly graceMs: number;
    readonly onFailure: (requestId: string, err: unknown) => void;
    readonly onRepaired?: RepairedListener;
  },
): Promise<RepairCounts> {
  const counts = { completed: 0, started: 0, expired: 0 };
  const now = () => ports.clock.now().getTime();
  // Due a grace ago: a younger mark may belong to an intake or vote still in flight; leave it to that call.
  const before = new Date(now() - options.graceMs).toISOString();
  for await (const { id, repairAt } of ports.requests.dueForRepair(before)) {
    if (now() >= options.stopAt) break;
    try {
      let chain = await ports.ledger.read(id);
      let state = deriveState(chain);
      if (!state) {
        // An item with no chain: nothing to repair from; look again later rather than at every run.
        await ports.requests.scheduleRepair(id, new Date(now() + REPAIR_RETRY_MS).toISOString(), { ifAt: repairAt });
        continue;
      }
      if (statusOf(state) === 'pending') {
        const started = await ports.workflow.start(state);
        // The workflow exists (or ended). Past the deadline by more than the grace, it failed to expire the request.
        const expiresAt = state.policy?.expiresAt ? Date.parse(state.policy.expiresAt) : undefined;
        if (started || expiresAt === undefined || now() < expiresAt + options.graceMs) {
          if (started) {
            counts.started += 1;
            ports.metrics.count('repairActions', { Kind: 'started' });
            options.onRepaired?.(id, 'started');
          }
          // Fine for now: due again at its deadline. Only if no vote marked it meanwhile; the summary's voters refreshed.
          const voters = state.votes.map((v) => v.approver);
          await ports.requests.scheduleRepair(id, nextRepairAt(state), { ifAt: repairAt, voters });
          continue;
        }
        let appended: AuditRecord[];
        ({ chain, appended } = await ports.ledger.append(id, (current) => decideExpiry(current, 'No decision before the timeout.')));
        state = deriveState(chain)!;
        countAppended(ports.metrics, appended, state);
        counts.expired += 1;
        ports.metrics.count('repairActions', { Kind: 'expired' });
        options.onRepaired?.(id, 'expired');
      } else {
        counts.completed += 1;
        ports.metrics.count('repairActions', { Kind: 'completed' });
        options.onRepaired?.(id, 'completed');
      }
      // The cached status takes the request out of the repair index.
      await completeOutcome(ports, state, chain);
    } catch (err) {
      // One request's trouble must not stop the others; it is due again a little later.
      options.onFailure(id, err);
      await ports.requests.scheduleRepair(id, new Date(now() + REPAIR_RETRY_MS).toISOString(), { ifAt: repairAt }).catch(() => undefined);
    }
  }
  return counts;
}

/**
 * Before an append that may settle a request (a vote, a cancel): marks it due now, so a crash between the ledger's
 * outcome and the cached status leaves it to the repair job (after the grace). Answers the mark and the `repairAt`
 * it replaced, for `unmarkSettling` once the request turns out still pending.
 */
export async function markSettling(ports: Pick<Ports, 'requests' | 'clock'>, id: string): Promise<{ at: string; previous?: string }> {
  const at = ports.clock.now().toISOString();
  const previous = await ports.requests.scheduleRepair(id, at);
  return previous === undefined ? { at } : { at, previous };
}

/** After an append that left the request pending: its `repairAt` as before the mark (unless another mark came since), and a vote noted. */
export async function unmarkSettling(ports: Pick<Ports, 'requests'>, id: string, mark: { at: string; previous?: string }, voter?: string): Promise<void> {
  // Without a previous `repairAt` (an item from before them), the mark stays: the repair job looks once and sets it.
  if (mark.previous === undefined) return;
  await ports.requests.scheduleRepair(id, mark.previous, { ifAt: mark.at, ...(voter !== undefined ? { addVoter: voter } : {}) });
}
