/**
 * The auditors' export (`GET /v1/audit/export`), sealed (core/export-seal.ts): each page's cursor carries what the
 * export returned so far, signed with the ledger key, and the last page answers the seal, a signed statement of
 * everything the export returned. A cursor the key did not sign, or one for another window, is `invalid_request`.
 */
import { createPublicKey } from 'node:crypto';
import { CountersignError } from '../core/errors';
import {
  addExportItem,
  cursorDigest,
  decodeCursor,
  type ExportPosition,
  type ExportProgress,
  type ExportSeal,
  encodeCursor,
  exportSealSchema,
  sealDigest,
  startExport,
  unsignedSeal,
} from '../core/export-seal';
import type { ExportPageQuery, LedgerExportSource, Ports } from '../core/ports';
import * as z from '../core/zod';

export interface SealedExportPage {
  readonly items: Array<Record<string, unknown>>;
  /** Signed: where the next page starts and what the export returned so far. Null on the last page. */
  readonly cursor: string | null;
  /** When the export started (its first page), the same on every page. */
  readonly exportedAt: string;
  /** On the last page only. */
  readonly seal?: ExportSeal;
}

export interface ExportQuery {
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly cursor?: string | undefined;
}

/** Only auditors export; `since`/`until` are ISO times as the ledger stores them (`toISOString()`). */
export async function exportLedger(
  ports: Pick<Ports, 'signer' | 'clock' | 'policy'>,
  exportSource: LedgerExportSource,
  principal: string,
  query: ExportQuery,
  limits: Pick<ExportPageQuery, 'maxBytes' | 'maxMillis' | 'scanLimit'> = {},
): Promise<SealedExportPage> {
  const { since, until } = query;
  if (since && until && since > until) throw new CountersignError('invalid_request', 'since is after until', [{ path: 'since', message: 'after until' }]);
  if (!ports.policy.directory().isAuditor(principal)) throw new CountersignError('forbidden', 'only auditors may export the ledger');
  return sealedPage(ports, exportSource, query, limits);
}

/**
 * One page of a sealed export: the first page (no cursor) fixes `exportedAt` and the ledger's newest checkpoint;
 * each later page goes on from its cursor, which must be one the ledger key signed for this same window.
 */
export async function sealedPage(
  ports: Pick<Ports, 'signer' | 'clock'>,
  exportSource: LedgerExportSource,
  query: ExportQuery,
  limits: Pick<ExportPageQuery, 'maxBytes' | 'maxMillis' | 'scanLimit'> = {},
): Promise<SealedExportPage> {
  const { since, until, signer } = { ...query, signer: ports.signer };
  let state: { position?: ExportPosition | undefined; progress: ExportProgress };
  if (query.cursor !== undefined) {
    const decoded = decodeCursor(query.cursor, createPublicKey(await signer.publicKeyPem()));
    if (!decoded) throw new CountersignError('invalid_request', 'cursor is not one this API issued', [{ path: 'cursor', message: 'invalid' }]);
    if (decoded.progress.since !== since || decoded.progress.until !== until) {
      throw new CountersignError('invalid_request', 'cursor belongs to an export of another since/until window', [
        { path: 'cursor', message: 'another window' },
      ]);
    }
    state = decoded;
  } else {
    // The head first, then the time: the head is the newest checkpoint written by exportedAt.
    const newest = await exportSource.latestCheckpoint();
    const exportedAt = ports.clock.now().toISOString();
    const head = newest ? { checkpoint: newest.seq, hash: newest.hash, from: newest.from, until: newest.until, total: newest.total } : null;
    state = { progress: startExport({ exportedAt, since, until, head }) };
  }
  const page = await exportSource.page({ since, until, cursor: state.position, ...limits });
  // The digest is over each item as the answer's JSON carries it, which is what the auditor's file holds.
  let progress = state.progress;
  for (const item of page.items) progress = addExportItem(progress, JSON.parse(JSON.stringify(item)));
  const { exportedAt } = progress;
  if (page.next) {
    const next = { position: page.next, progress };
    return { items: page.items, cursor: encodeCursor(next, await signer.signDigest(cursorDigest(next))), exportedAt };
  }
  const unsigned = unsignedSeal(progress, signer.keyId);
  const digest = sealDigest(unsigned);
  const signature = await signer.signDigest(digest);
  const seal = z.parse(exportSealSchema, { ...unsigned, hash: digest.toString('hex'), signature: Buffer.from(signature).toString('base64') });
  return { items: page.items, cursor: null, exportedAt, seal };
}
