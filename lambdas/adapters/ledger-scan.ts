/**
 * Pages through the whole ledger table for `GET /v1/audit/export` (app/export.ts seals what it returns): records,
 * checkpoints and checkpoint leaf pages, exactly as stored (minus the slot-index attributes), so an auditor sees what
 * the table holds and judges it with the verifier. A Scan returns each partition's items in seq order, so every chain
 * arrives oldest first.
 */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_PARTITION, type Checkpoint } from '../core/checkpoint';
import type { ExportPage, ExportPageQuery, LedgerExportSource } from '../core/ports';
import { CERTIFICATE_PARTITION_PREFIX } from '../core/signing-certificate';

/** Lambda answers at most 6 MB; a page stops adding items past this many bytes of JSON. */
export const EXPORT_PAGE_BYTES = 4 * 1024 * 1024;
/**
 * A page also ends after this long, well inside the intake function's timeout: with `since`/`until` a Scan may read
 * many items that the filter drops, so a page can come back short (even empty) with a cursor to go on from.
 */
export const EXPORT_PAGE_MILLIS = 4000;
/** Items a Scan call reads. */
const SCAN_LIMIT = 200;

/**
 * One page of the export. `since`/`until` select records by `at`, checkpoints and their leaf pages by the range they
 * cover (wholly inside), and signing certificates by their window (overlapping), so a partial export carries the
 * checkpoints that speak for its records and the certificates that sign them.
 */
export async function exportLedgerPage(input: { readonly dynamo: DynamoDBDocumentClient; readonly tableName: string } & ExportPageQuery): Promise<ExportPage> {
  const maxBytes = input.maxBytes ?? EXPORT_PAGE_BYTES;
  const deadline = Date.now() + (input.maxMillis ?? EXPORT_PAGE_MILLIS);
  const names: Record<string, string> = { '#rid': 'requestId' };
  const values: Record<string, unknown> = { ':cp': CHECKPOINT_PARTITION, ':cert': CERTIFICATE_PARTITION_PREFIX };
  const recordTerms: string[] = [];
  const checkpointTerms: string[] = [];
  const certificateTerms: string[] = [];
  if (input.since) {
    Object.assign(names, { '#at': 'at', '#from': 'from', '#notAfter': 'notAfter' });
    values[':since'] = input.since;
    recordTerms.push('#at >= :since');
    checkpointTerms.push('#from >= :since');
    certificateTerms.push('#notAfter >= :since');
  }
  if (input.until) {
    Object.assign(names, { '#at': 'at', '#until': 'until', '#notBefore': 'notBefore' });
    values[':until'] = input.until;
    recordTerms.push('#at <= :until');
    checkpointTerms.push('#until <= :until');
    certificateTerms.push('#notBefore <= :until');
  }
  const filter = recordTerms.length
    ? `(NOT begins_with(#rid, :cp) AND NOT begins_with(#rid, :cert) AND ${recordTerms.join(' AND ')}) OR (begins_with(#rid, :cp) AND ${checkpointTerms.join(' AND ')}) OR (begins_with(#rid, :cert) AND ${certificateTerms.join(' AND ')})`
    : undefined;

  const items: Array<Record<string, unknown>> = [];
  let bytes = 0;
  let startKey: Record<string, unknown> | undefined = input.cursor;
  do {
    const page = await input.dynamo.send(
      new ScanCommand({
        TableName: input.tableName,
        Limit: input.scanLimit ?? SCAN_LIMIT,
        ExclusiveStartKey: startKey,
        ...(filter ? { FilterExpression: filter, ExpressionAttributeNames: names, ExpressionAttributeValues: values } : {}),
      }),
    );
    for (const stored of page.Items ?? []) {
      const { slot: _slot, rk: _rk, ...item } = stored;
      const size = Buffer.byteLength(JSON.stringify(item));
      if (items.length > 0 && bytes + size > maxBytes) {
        const last = items.at(-1)!;
        return { items, next: { requestId: String(last.requestId), seq: Number(last.seq) } };
      }
      items.push(item);
      bytes += size;
    }
    startKey = page.LastEvaluatedKey;
    if (startKey && Date.now() >= deadline) {
      return { items, next: { requestId: String(startKey.requestId), seq: Number(startKey.seq) } };
    }
  } while (startKey);
  return { items };
}

/** The ledger table as an export source: its pages, and its newest checkpoint. */
export function ledgerExportSource(input: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly latestCheckpoint: () => Promise<Checkpoint | undefined>;
}): LedgerExportSource {
  return {
    page: (query) => exportLedgerPage({ dynamo: input.dynamo, tableName: input.tableName, ...query }),
    latestCheckpoint: input.latestCheckpoint,
  };
}
