/**
 * Pages through the ledger table for `GET /v1/audit/export` (app/export.ts seals what it returns): records,
 * checkpoints and checkpoint leaf pages, exactly as stored (minus the slot-index attributes), so an auditor sees what
 * the table holds and judges it with the verifier. The whole ledger, or a window with no `since` or of more than
 * EXPORT_INDEX_MAX_HOURS, is a Scan, which returns each partition's items in seq order, so every chain arrives
 * oldest first. A shorter window is read from the slot index (core/checkpoint.ts `slotKeys`): hour by hour, each
 * hour's shards in order, each shard by time, then its checkpoints, each followed by its leaf pages. A chain's
 * records then arrive in time order, which is seq order since each is stamped after the one before it.
 */
import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_PARTITION, type Checkpoint, checkpointSchema, LEDGER_SLOT_INDEX, leavesPartition, SLOT_SHARDS } from '../core/checkpoint';
import type { ExportPosition } from '../core/export-seal';
import type { ExportPage, ExportPageQuery, LedgerExportSource } from '../core/ports';
import { CERTIFICATE_PARTITION_PREFIX, CERTIFICATE_SLOT_PREFIX } from '../core/signing-certificate';
import * as z from '../core/zod';

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
export async function exportLedgerPage(input: ExportInput): Promise<ExportPage> {
  // A cursor goes on as its export began: a slot-index position carries its slot.
  const indexed = input.cursor ? input.cursor.slot !== undefined : indexedHours(input.since, input.until, Date.now()) !== undefined;
  if (indexed) return windowPage(input);
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

type ExportInput = { readonly dynamo: DynamoDBDocumentClient; readonly tableName: string } & ExportPageQuery;

/**
 * A window of at most this many hours (from `since` to `until`, or to now) is read from the slot index: 16 queries
 * an hour, however few records it holds. A longer one is a Scan, as the checkpointer reads a gap of over a week.
 */
export const EXPORT_INDEX_MAX_HOURS = 7 * 24;
const HOUR_MS = 3_600_000;
/** Keys a BatchGetItem call takes. */
const BATCH_GET_KEYS = 100;
/** A slot-index query's page. */
const SLOT_QUERY_LIMIT = 200;

/** The hours (epoch hour numbers) a window spans, when it is one the slot index serves. */
export function indexedHours(since: string | undefined, until: string | undefined, now: number): { first: number; last: number } | undefined {
  if (since === undefined) return undefined;
  const from = Date.parse(since);
  const to = until === undefined ? now : Date.parse(until);
  if (!Number.isFinite(from) || !Number.isFinite(to)) return undefined;
  const first = Math.floor(from / HOUR_MS);
  const last = Math.floor(to / HOUR_MS);
  return last - first + 1 <= EXPORT_INDEX_MAX_HOURS ? { first, last } : undefined;
}

const slotName = (hour: number, shard: number) => `${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}#${String(shard).padStart(2, '0')}`;
const slotPlace = (slot: string) => ({ hour: Date.parse(`${slot.slice(0, 13)}:00:00.000Z`) / HOUR_MS, shard: Number(slot.slice(14)) });

/** Where a windowed export's cursor stands once the records and checkpoints are done. */
const CERTIFICATES_PHASE = 'certificates';

/**
 * One page of a window read from the slot index: its records, then the checkpoints wholly inside it with their
 * leaf pages, then the signing certificates whose validity meets it (from their own slots). Each record's and
 * certificate's item comes from the table (BatchGetItem), since the index projects only the hash.
 */
async function windowPage(input: ExportInput): Promise<ExportPage> {
  const { dynamo, tableName } = input;
  const since = input.since ?? '';
  const maxBytes = input.maxBytes ?? EXPORT_PAGE_BYTES;
  const deadline = Date.now() + (input.maxMillis ?? EXPORT_PAGE_MILLIS);
  const items: Array<Record<string, unknown>> = [];
  let bytes = 0;
  let last: ExportPosition | undefined;
  /** Adds an item unless the page is full; answers whether it did. */
  const add = (stored: Record<string, unknown>, position: ExportPosition): boolean => {
    const { slot: _slot, rk: _rk, ...item } = stored;
    const size = Buffer.byteLength(JSON.stringify(item));
    if (items.length > 0 && bytes + size > maxBytes) return false;
    items.push(item);
    bytes += size;
    last = position;
    return true;
  };
  const full = (): ExportPage => ({ items, next: last! });
  let cursor = input.cursor;

  if (cursor?.slot !== CHECKPOINT_PARTITION && cursor?.slot !== CERTIFICATES_PHASE) {
    const hi = input.until === undefined ? '\uffff' : `${input.until}#\uffff`;
    const start = cursor?.slot ? slotPlace(cursor.slot) : { hour: Math.floor(Date.parse(since) / HOUR_MS), shard: 0 };
    const lastHour = Math.floor((input.until === undefined ? Date.now() : Date.parse(input.until)) / HOUR_MS);
    const query = (slot: string, startKey?: Record<string, unknown>) =>
      dynamo.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: LEDGER_SLOT_INDEX,
          KeyConditionExpression: '#slot = :slot AND #rk BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#slot': 'slot', '#rk': 'rk' },
          ExpressionAttributeValues: { ':slot': slot, ':lo': since, ':hi': hi },
          Limit: input.scanLimit ?? SLOT_QUERY_LIMIT,
          ExclusiveStartKey: startKey,
        }),
      );
    for (let hour = start.hour; hour <= lastHour; hour++) {
      if (hour > start.hour && Date.now() >= deadline) return { items, next: { requestId: CHECKPOINT_PARTITION, seq: 0, slot: slotName(hour, 0) } };
      const firstShard = hour === start.hour ? start.shard : 0;
      const slots = Array.from({ length: SLOT_SHARDS - firstShard }, (_, i) => slotName(hour, firstShard + i));
      // Where the cursor left its slot: the slot-index key of the last item returned.
      const resume = cursor?.rk ? { slot: cursor.slot, rk: cursor.rk, requestId: cursor.requestId, seq: cursor.seq } : undefined;
      const firstPages = await Promise.all(slots.map((slot, i) => query(slot, hour === start.hour && i === 0 ? resume : undefined)));
      // The hour's first pages' items in one go (100 keys a call), not a call per shard.
      const keysOf = (page: { Items?: Array<Record<string, unknown>> }) =>
        (page.Items ?? []).map((k) => ({ requestId: String(k.requestId), seq: Number(k.seq) }));
      const prefetched = await getItems(dynamo, tableName, firstPages.flatMap(keysOf));
      for (const [i, slot] of slots.entries()) {
        let page = firstPages[i]!;
        for (let first = true; ; first = false) {
          const got = first ? prefetched.splice(0, keysOf(page).length) : await getItems(dynamo, tableName, keysOf(page));
          for (const stored of got) {
            if (!stored) continue; // not in the table (an index entry ahead of it): nothing to export
            if (!add(stored, { requestId: String(stored.requestId), seq: Number(stored.seq), slot, rk: String(stored.rk) })) return full();
          }
          const startKey = page.LastEvaluatedKey;
          if (!startKey) break;
          if (Date.now() >= deadline)
            return { items, next: { requestId: String(startKey.requestId), seq: Number(startKey.seq), slot, rk: String(startKey.rk) } };
          page = await query(slot, startKey);
        }
      }
    }
    if (Date.now() >= deadline) return { items, next: { requestId: CHECKPOINT_PARTITION, seq: 0, slot: CHECKPOINT_PARTITION } };
    cursor = undefined;
  }

  // The checkpoints wholly inside the window, oldest first; where the cursor left them: a checkpoint (its pages
  // next) or one of its pages.
  const checkpoints = cursor?.slot === CERTIFICATES_PHASE ? [] : await windowCheckpoints(dynamo, tableName, since, input.until);
  const resumeAt = cursor === undefined || cursor.slot === CERTIFICATES_PHASE ? { checkpoint: 0, page: 0 } : checkpointPlace(cursor);
  for (const checkpoint of checkpoints) {
    if (checkpoint.seq < resumeAt.checkpoint) continue;
    const partition = leavesPartition(checkpoint.seq, checkpoint.pagesId);
    if (checkpoint.seq > resumeAt.checkpoint && !add(checkpoint, { requestId: CHECKPOINT_PARTITION, seq: checkpoint.seq, slot: CHECKPOINT_PARTITION })) {
      return full();
    }
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'requestId = :p AND #seq > :after',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':p': partition, ':after': checkpoint.seq === resumeAt.checkpoint ? resumeAt.page : 0 },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const leaves of page.Items ?? []) {
        if (!add(leaves, { requestId: partition, seq: Number(leaves.seq), slot: CHECKPOINT_PARTITION })) return full();
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    if (Date.now() >= deadline && last) return { items, next: last };
  }
  if (cursor?.slot !== CERTIFICATES_PHASE) {
    if (Date.now() >= deadline) return { items, next: { requestId: CERTIFICATES_PHASE, seq: 0, slot: CERTIFICATES_PHASE } };
    cursor = undefined;
  }

  // The signing certificates whose window meets the export's, so every record in it can be verified: listed by the
  // hour of their notBefore, from an hour before `since` (a certificate is valid for an hour at most).
  const until = input.until ?? new Date().toISOString();
  const firstHour = Math.floor(Date.parse(since) / HOUR_MS) - 1;
  const lastCertificateHour = Math.floor(Date.parse(until) / HOUR_MS);
  const resumeRk = cursor?.rk;
  for (let hour = resumeRk ? Math.floor(Date.parse(resumeRk.slice(0, 24)) / HOUR_MS) : firstHour; hour <= lastCertificateHour; hour++) {
    const slot = `${CERTIFICATE_SLOT_PREFIX}${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}`;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: LEDGER_SLOT_INDEX,
          KeyConditionExpression: resumeRk ? '#slot = :slot AND #rk > :after' : '#slot = :slot',
          ExpressionAttributeNames: { '#slot': 'slot', ...(resumeRk ? { '#rk': 'rk' } : {}) },
          ExpressionAttributeValues: { ':slot': slot, ...(resumeRk ? { ':after': resumeRk } : {}) },
          ExclusiveStartKey: startKey,
        }),
      );
      const keys = (page.Items ?? []).map((k) => ({ requestId: String(k.requestId), seq: Number(k.seq) }));
      for (const stored of await getItems(dynamo, tableName, keys)) {
        if (!stored) continue;
        if (String(stored.notAfter) < since || String(stored.notBefore) > until) continue;
        if (!add(stored, { requestId: CERTIFICATES_PHASE, seq: 0, slot: CERTIFICATES_PHASE, rk: String(stored.rk) })) return full();
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  return { items };
}

/** Which checkpoint (and which of its leaf pages) a checkpoint-phase position names. */
function checkpointPlace(position: ExportPosition): { checkpoint: number; page: number } {
  if (position.requestId === CHECKPOINT_PARTITION) return { checkpoint: position.seq, page: 0 };
  return { checkpoint: Number(position.requestId.split('#')[1]), page: position.seq };
}

/**
 * The checkpoints with `since <= from` and `until <= until`, by seq. Read newest first, stopping at the first that
 * starts before `since`: each checkpoint starts where the one before ends, so every older one does too.
 */
async function windowCheckpoints(dynamo: DynamoDBDocumentClient, tableName: string, since: string, until: string | undefined): Promise<Checkpoint[]> {
  const found: Checkpoint[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'requestId = :cp',
        ExpressionAttributeValues: { ':cp': CHECKPOINT_PARTITION },
        ScanIndexForward: false,
        Limit: 100,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const checkpoint = z.parse(checkpointSchema, item);
      if (checkpoint.from < since) return found.reverse();
      if (until === undefined || checkpoint.until <= until) found.push(checkpoint);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return found.reverse();
}

/** The table's items for these keys, in their order, undefined where none (BatchGetItem, unprocessed keys asked again). */
async function getItems(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  keys: ReadonlyArray<{ requestId: string; seq: number }>,
): Promise<Array<Record<string, unknown> | undefined>> {
  const found = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
    let request: Record<string, { Keys: Array<Record<string, unknown>> }> | undefined = { [tableName]: { Keys: keys.slice(i, i + BATCH_GET_KEYS) } };
    for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      const answer = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of answer.Responses?.[tableName] ?? []) found.set(`${item.requestId}#${item.seq}`, item);
      request = answer.UnprocessedKeys as typeof request;
    }
  }
  return keys.map((k) => found.get(`${k.requestId}#${k.seq}`));
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
