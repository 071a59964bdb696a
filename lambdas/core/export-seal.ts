/**
 * The seal of a ledger export: a statement, signed with the ledger key, of exactly what one export returned. An
 * export is paged and the server sees one page at a time, so what it has returned so far travels in the cursor as
 * an `ExportProgress` (the window, `exportedAt`, counts and a running digest of every item in order), signed so a
 * client can neither forge nor steer it. The last page answers the seal over the final progress.
 *
 * The seal binds the export's header (`exportedAt`, `since`, `until`), every item and its order (the digest), the
 * counts of items, records and checkpoints, and the ledger's head at `exportedAt`: its newest checkpoint (itself a
 * signed Merkle root over every record up to its `until`) and the number of records after it up to `exportedAt`.
 * Together those are a fresh signed tree head: cutting the newest checkpoint or any record after it, moving
 * `exportedAt`, or narrowing the window no longer verifies.
 *
 * Records and checkpoints are signed over SHA-256 of their canonical JSON (which starts with `{`), receipts over a
 * JWS signing input (base64url). Seals and cursors are signed over SHA-256 of a domain line (ending in a newline,
 * which neither of those can hold) and then canonical JSON, each with its own domain, so no signature of one kind
 * can pass for another.
 */
import { createHash, hash, type KeyObject, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { canonicalSignedJson } from './ledger-record';
import * as z from './zod';

/** The export file format these seals belong to (format 1 was unsealed). */
export const EXPORT_FORMAT = 2;
export const SEAL_DOMAIN = 'countersign/export-seal/v1\n';
export const CURSOR_DOMAIN = 'countersign/export-cursor/v1\n';
/** The digest of an export that returned nothing yet. */
export const EMPTY_EXPORT_DIGEST = createHash('sha256').update('countersign/export-items/v1', 'utf8').digest('hex');

const iso = z.iso.datetime();
const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'));
const count = z.int().check(z.gte(0));

/** The ledger's newest checkpoint when the export started. */
export const sealHeadSchema = z.strictObject({
  checkpoint: z.int().check(z.gte(1)),
  hash: sha256Hex,
  from: iso,
  until: iso,
  total: count,
});
export type SealHead = z.infer<typeof sealHeadSchema>;

const progressShape = {
  exportedAt: iso,
  since: z.optional(iso),
  until: z.optional(iso),
  /** The newest checkpoint at `exportedAt`; null when the ledger had none yet. */
  head: z.nullable(sealHeadSchema),
  /** Items returned: records, checkpoints and checkpoint leaf pages. */
  items: count,
  records: count,
  checkpoints: count,
  /** Records returned newer than `head` (every record, without one) and no newer than `exportedAt`. */
  tail: count,
  /** Running digest of the items returned, in order (see `addExportItem`). */
  digest: sha256Hex,
};

export const exportProgressSchema = z.strictObject(progressShape);
export type ExportProgress = z.infer<typeof exportProgressSchema>;

export const exportSealSchema = z.strictObject({
  type: z.literal('export_seal'),
  format: z.literal(EXPORT_FORMAT),
  ...progressShape,
  keyId: z.string().check(z.minLength(1)),
  hash: sha256Hex,
  signature: z.base64(),
});
export type ExportSeal = z.infer<typeof exportSealSchema>;
export type UnsignedExportSeal = Omit<ExportSeal, 'hash' | 'signature'>;

/** The window an export asked for; neither bound is a full export. */
export interface ExportWindow {
  readonly since?: string | undefined;
  readonly until?: string | undefined;
}

export function startExport(input: { exportedAt: string; since?: string | undefined; until?: string | undefined; head: SealHead | null }): ExportProgress {
  return z.parse(exportProgressSchema, {
    exportedAt: input.exportedAt,
    ...(input.since !== undefined ? { since: input.since } : {}),
    ...(input.until !== undefined ? { until: input.until } : {}),
    head: input.head,
    items: 0,
    records: 0,
    checkpoints: 0,
    tail: 0,
    digest: EMPTY_EXPORT_DIGEST,
  });
}

const sha256 = (...parts: Array<string | Uint8Array>) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** digest ‖ SHA-256(item): what `foldExportItem` hashes. */
const FOLD = Buffer.alloc(64);

/**
 * What an item is, by its `type`, as the verifier reads it (anything else is taken for a record). Signing
 * certificates, like leaf pages, count as items only.
 */
export function exportItemKind(item: unknown): 'record' | 'checkpoint' | 'checkpoint_leaves' | 'signing_certificate' {
  const type = (typeof item === 'object' && item !== null ? item : {}) as { type?: unknown };
  if (type.type === 'checkpoint' || type.type === 'checkpoint_leaves' || type.type === 'signing_certificate') return type.type;
  return 'record';
}

/**
 * The progress after one more item. `item` is the item as JSON carries it (a parsed line, or the answer's item);
 * `text` is its canonical JSON when the caller built it already, or stands in for a line that is not JSON.
 * digest' = SHA-256(digest ‖ SHA-256(canonical JSON of the item)).
 */
export function addExportItem(progress: ExportProgress, item: unknown, text?: string): ExportProgress {
  const canonical = text ?? canonicalize(item);
  if (canonical === undefined) throw new TypeError('export item cannot be canonicalized');
  return foldExportItem(progress, item, exportItemDigest(canonical));
}

/**
 * SHA-256 of an item's canonical JSON, as a 'binary' string (a char per byte): what `foldExportItem` folds in. A
 * verifier takes it as it reads each line, so that it need not keep the line's parsed JSON until the seal.
 */
export function exportItemDigest(canonical: string): string {
  return hash('sha256', canonical, 'binary');
}

/** `addExportItem` for an item whose `exportItemDigest` is known. */
export function foldExportItem(progress: ExportProgress, item: unknown, itemDigest: string): ExportProgress {
  return foldExportItems(progress, [{ item, digest: itemDigest }]);
}

/** `foldExportItem` over many items in order: the progress after all of them. */
export function foldExportItems(progress: ExportProgress, items: Iterable<{ readonly item: unknown; readonly digest: string }>): ExportProgress {
  // The running digest stays in one scratch buffer, as bytes, from item to item: a verifier folds in every item of a
  // ledger, and a Buffer, a hex string or a progress object per item cost more than the hashing.
  let { digest, items: count, records, checkpoints, tail } = progress;
  let inFold = digest.length === 64 && FOLD.write(digest, 0, 'hex') === 32;
  const before = count;
  for (const { item, digest: itemDigest } of items) {
    if (inFold) {
      FOLD.write(itemDigest, 32, 'binary');
      hashInto(FOLD, FOLD);
    } else {
      digest = sha256(Buffer.from(digest, 'hex'), Buffer.from(itemDigest, 'binary')).toString('hex'); // not 32 bytes of hex: as ever
      inFold = FOLD.write(digest, 0, 'hex') === 32;
    }
    const kind = exportItemKind(item);
    const at = (item as { at?: unknown } | null)?.at;
    count += 1;
    if (kind === 'record') {
      records += 1;
      if (typeof at === 'string' && at <= progress.exportedAt && (progress.head === null || at > progress.head.until)) tail += 1;
    } else if (kind === 'checkpoint') {
      checkpoints += 1;
    }
  }
  if (inFold && count > before) digest = FOLD.toString('hex', 0, 32);
  return { ...progress, items: count, records, checkpoints, tail, digest };
}

/** SHA-256 of `from` written over the first 32 bytes of `to`. */
function hashInto(from: Buffer, to: Buffer): void {
  to.write(hash('sha256', from, 'binary'), 0, 'binary');
}

export function unsignedSeal(progress: ExportProgress, keyId: string): UnsignedExportSeal {
  return { type: 'export_seal', format: EXPORT_FORMAT, ...z.parse(exportProgressSchema, progress), keyId };
}

/** The bytes a seal's signature is over: its domain line, then its canonical JSON without `hash` and `signature`. */
export function sealMessage(seal: UnsignedExportSeal | ExportSeal): string {
  return SEAL_DOMAIN + canonicalSignedJson(seal);
}

/** The digest KMS signs for a seal (MessageType DIGEST), and the seal's `hash`. */
export function sealDigest(seal: UnsignedExportSeal | ExportSeal): Buffer {
  return sha256(sealMessage(seal));
}

/** What is wrong with a seal's own integrity, or undefined when it is the ledger key's, unedited. */
export function sealProblem(seal: ExportSeal, publicKey: KeyObject): 'edited' | 'bad_signature' | undefined {
  const message = sealMessage(seal);
  if (sha256(message).toString('hex') !== seal.hash) return 'edited';
  return signatureOver(seal.signature, message, publicKey) ? undefined : 'bad_signature';
}

function signatureOver(signature: string | Uint8Array, message: string, publicKey: KeyObject): boolean {
  try {
    return verify('sha256', Buffer.from(message, 'utf8'), publicKey, typeof signature === 'string' ? Buffer.from(signature, 'base64') : signature);
  } catch {
    return false; // malformed DER
  }
}

// ---- the cursor: where the scan goes on from, and the progress so far, signed ----

/**
 * Where an export goes on from: the last table item returned (a Scan's position); for a window read by the ledger's
 * slot index, also the slot it was in and its sort key there (none: the slot from its start). A `slot` of
 * `checkpoint` is the window's checkpoints, after its records.
 */
export const exportPositionSchema = z.strictObject({
  requestId: z.string().check(z.minLength(1), z.maxLength(200)),
  seq: z.int().check(z.gte(0)),
  slot: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  rk: z.optional(z.string().check(z.minLength(1), z.maxLength(300))),
});
export type ExportPosition = z.infer<typeof exportPositionSchema>;

export const exportCursorSchema = z.strictObject({ position: exportPositionSchema, progress: exportProgressSchema });
export type ExportCursorState = z.infer<typeof exportCursorSchema>;

/** Longest cursor accepted: its JSON is a few hundred bytes, its signature about a hundred. */
const MAX_CURSOR_LENGTH = 4096;

/** The digest KMS signs for a cursor's state. */
export function cursorDigest(state: ExportCursorState): Buffer {
  return sha256(cursorMessage(state));
}

function cursorMessage(state: ExportCursorState): string {
  return CURSOR_DOMAIN + canonicalize(z.parse(exportCursorSchema, state))!;
}

/** `base64url(JSON state).base64url(DER signature)` */
export function encodeCursor(state: ExportCursorState, signature: Uint8Array): string {
  return `${Buffer.from(JSON.stringify(state), 'utf8').toString('base64url')}.${Buffer.from(signature).toString('base64url')}`;
}

/** The cursor's state, or undefined when it is not one the ledger key signed. */
export function decodeCursor(text: string, publicKey: KeyObject): ExportCursorState | undefined {
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const [body, signature] = text.split('.') as [string, string];
  try {
    const parsed = exportCursorSchema.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    if (!parsed.success) return undefined;
    return signatureOver(Buffer.from(signature, 'base64url'), cursorMessage(parsed.data), publicKey) ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
