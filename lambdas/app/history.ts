/**
 * The ledger's history as the console reads it: every request's chain and state, from the auditors' export source
 * (a Scan of the whole ledger, or the slot index for a recent window), page by page until the window is read or the
 * deadline comes. What was read by then is answered with `complete: false`, so a page can say it shows part.
 *
 * Records only: checkpoints, their leaf pages and signing certificates are skipped, and so is any item that is not a
 * well-formed record (verifying the ledger is `audit verify`'s job, and the console's verify page's). A request whose
 * first record falls before `since` has no `requested` record in the window and is left out: a window selects
 * requests by when they were made.
 */
import { type ApprovalState, deriveState } from '../core/approval';
import { type AuditRecord, auditRecordSchema } from '../core/ledger-record';
import type { LedgerExportSource } from '../core/ports';

export interface HistoryQuery {
  /** Requests made at or after this ISO time (records from then on are read). @default the whole ledger */
  readonly since?: string | undefined;
  /** The read stops adding pages at this epoch ms, answering what it has. */
  readonly deadline: number;
  /** Longest one page may take. @default 4000 */
  readonly pageMillis?: number;
}

export interface HistoryEntry {
  readonly state: ApprovalState;
  /** The request's records as read, oldest first. */
  readonly chain: readonly AuditRecord[];
  /** How many `reminded` records it has. */
  readonly reminders: number;
  /** Whether it was escalated. */
  readonly escalated: boolean;
}

export interface LedgerHistory {
  /** Every request the read reached, oldest first. */
  readonly requests: readonly HistoryEntry[];
  /** Whether the whole window was read before the deadline. */
  readonly complete: boolean;
  /** Records read. */
  readonly records: number;
}

const PAGE_MILLIS = 4000;

export async function readHistory(source: LedgerExportSource, query: HistoryQuery): Promise<LedgerHistory> {
  const chains = new Map<string, AuditRecord[]>();
  let records = 0;
  let cursor: Awaited<ReturnType<LedgerExportSource['page']>>['next'];
  let complete = false;
  while (Date.now() < query.deadline) {
    const page = await source.page({
      since: query.since,
      cursor,
      maxMillis: Math.max(50, Math.min(query.pageMillis ?? PAGE_MILLIS, query.deadline - Date.now())),
    });
    for (const item of page.items) {
      const parsed = auditRecordSchema.safeParse(item);
      if (!parsed.success) continue;
      records++;
      const chain = chains.get(parsed.data.requestId);
      if (chain) chain.push(parsed.data);
      else chains.set(parsed.data.requestId, [parsed.data]);
    }
    cursor = page.next;
    if (!cursor) {
      complete = true;
      break;
    }
  }
  const requests: HistoryEntry[] = [];
  for (const chain of chains.values()) {
    chain.sort((a, b) => a.seq - b.seq);
    let state: ApprovalState | undefined;
    try {
      state = deriveState(chain);
    } catch {
      // A record whose data does not fit its type: not a request the console can show.
      state = undefined;
    }
    if (!state) continue;
    requests.push({
      state,
      chain,
      reminders: chain.filter((r) => r.type === 'reminded').length,
      escalated: chain.some((r) => r.type === 'escalated'),
    });
  }
  requests.sort((a, b) => (a.state.createdAt < b.state.createdAt ? -1 : a.state.createdAt > b.state.createdAt ? 1 : a.state.id < b.state.id ? -1 : 1));
  return { requests, complete, records };
}
