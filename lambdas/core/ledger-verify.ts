/**
 * Verifies an exported ledger (JSON Lines: the export header, records, checkpoints and checkpoint leaf pages, signing
 * certificates, and the export's seal) with the ledger's public key alone, and names every problem by request id and seq: edited,
 * re-signed, reordered, duplicated, missing and inserted records, a deleted request, a cut tail, forged or missing
 * checkpoints, records signed under a forged, absent or expired certificate, and a file that is not what the export
 * returned (an unsealed file, an edited header, a cut head, tail
 * or window, lines added after the seal). Nothing here trusts the party that produced the export.
 */
import type { KeyObject } from 'node:crypto';
import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { type Checkpoint, checkpointSchema, LEDGER_ORIGIN, type Leaf, type LeavesPage, leavesPageSchema, merkleRoot } from './checkpoint';
import {
  EXPORT_FORMAT,
  type ExportProgress,
  type ExportSeal,
  exportItemDigest,
  exportSealSchema,
  foldExportItems,
  sealProblem,
  startExport,
} from './export-seal';
import { jsonTextProblem } from './json-keys';
import {
  type AuditRecord,
  assertP256PublicKey,
  auditRecordSchema,
  canonicalSignedJson,
  GENESIS_HASH,
  recordCanonicalJson,
  signatureValid,
  signedDigest,
  type UnsignedRecord,
} from './ledger-record';
import { CERTIFICATE_TYPE, certificateProblem, recordKeys, type SigningCertificate, signingCertificateSchema } from './signing-certificate';
import * as z from './zod';

/**
 * The first line of an export: what was asked for and when. Its `exportedAt`, `since` and `until` must be the
 * seal's, which signs them; `source` (where the CLI fetched it from) is a note for the reader, not sealed.
 */
export const exportHeaderSchema = z.strictObject({
  type: z.literal('export'),
  format: z.literal(EXPORT_FORMAT),
  exportedAt: z.iso.datetime(),
  since: z.optional(z.iso.datetime()),
  until: z.optional(z.iso.datetime()),
  source: z.optional(z.string()),
});
export type ExportHeader = z.infer<typeof exportHeaderSchema>;

/** The first line of an export file, as `countersign audit export` and the console's download write it. */
export function exportHeader(
  exportedAt: string,
  window: { readonly since?: string | undefined; readonly until?: string | undefined },
  source: string,
): ExportHeader {
  return {
    type: 'export',
    format: EXPORT_FORMAT,
    exportedAt,
    ...(window.since ? { since: window.since } : {}),
    ...(window.until ? { until: window.until } : {}),
    source,
  };
}

export const FINDING_KINDS = [
  'unsealed',
  'seal_forged',
  'header_edited',
  'not_as_sealed',
  'malformed',
  'checkpoint_forged',
  'checkpoint_missing',
  'checkpoint_leaves',
  'certificate_forged',
  'edited',
  'bad_signature',
  'reordered',
  'duplicate',
  'broken_link',
  'missing',
  'deleted_request',
  'truncated',
  'extra',
  'uncovered',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  readonly kind: FindingKind;
  readonly message: string;
  readonly requestId?: string;
  readonly seq?: number;
  /** deleted_request: every seq the checkpoints say the request had. */
  readonly seqs?: number[];
  readonly checkpoint?: number;
  /** 1-based line of the export, where the finding is about a line. */
  readonly line?: number;
}

export interface VerifyLedgerOptions {
  /** Records older than this with no checkpoint covering them are a finding (open-ended exports). @default 900 */
  readonly maxCheckpointAgeSeconds?: number;
  /** The time the ledger is judged as of, for open-ended exports. @default the header's exportedAt, else now */
  readonly asOf?: Date;
  /** Called as signatures are checked (the slow part). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface LedgerReport {
  readonly ok: boolean;
  /** The export carries a seal the ledger key signed, and the header and every line are as it says. */
  readonly sealed: boolean;
  /** When the export was taken, as its seal says (its header's, when the seal is missing or forged). */
  readonly exportedAt?: string;
  /**
   * Set when the export is partial (`since` and/or `until`): it was judged as the records of this window and the
   * checkpoints wholly inside it, not as the whole ledger.
   */
  readonly window?: { readonly since?: string; readonly until?: string };
  readonly records: number;
  readonly requests: number;
  readonly checkpoints: number;
  /** Signing certificates: the keys the ledger key certified, which sign records (core/signing-certificate.ts). */
  readonly certificates: number;
  /** Records a checkpoint in the export commits to and that are present as committed. */
  readonly covered: number;
  /** Records newer than every checkpoint, within the allowed age: nothing commits to them yet. */
  readonly pending: number;
  readonly findings: Finding[];
}

export const DEFAULT_MAX_CHECKPOINT_AGE_SECONDS = 900;

type ChainFields = Omit<AuditRecord, 'data' | 'actor'>;

interface RecordEntry {
  readonly line: number;
  /** Its fields but `data` and `actor`, which its canonical JSON holds. */
  readonly record: ChainFields;
  /**
   * Its canonical JSON without `hash` and `signature`: what is hashed and signed. As UTF-8 bytes, outside the JS
   * heap: every record is kept until the signatures are checked, and the collector copies what the heap keeps.
   */
  readonly signed: Buffer;
  /** Whether SHA-256 of `signed` is its `hash`. */
  readonly hashMatches: boolean;
  valid: boolean;
  covered: boolean;
}

interface CheckpointEntry {
  readonly line: number;
  readonly checkpoint: Checkpoint;
  valid: boolean;
  /** Its leaves, when the pages are complete and match the signed root. */
  leaves?: Leaf[];
}

/**
 * A line between the header and the seal: its text, and its JSON value (none when it is not JSON), or once read, its
 * schema's parsed copy and its `exportItemDigest`.
 */
interface ExportItemLine {
  readonly line: number;
  readonly text: string;
  value?: unknown;
  digest?: string;
}

const sha256Hex = (data: string | Uint8Array) => hash('sha256', data, 'hex');
const key = (requestId: string, seq: number) => `${requestId}\u0000${seq}`;

/** Verifies the lines of an export (blank lines are skipped). */
export function verifyLedgerLines(lines: readonly string[], publicKey: KeyObject, options: VerifyLedgerOptions = {}): LedgerReport {
  assertP256PublicKey(publicKey);
  const findings: Finding[] = [];
  let header: ExportHeader | undefined;
  const records: RecordEntry[] = [];
  const checkpoints: CheckpointEntry[] = [];
  const pages: Array<{ line: number; page: LeavesPage }> = [];
  const certificates: Array<{ line: number; certificate: SigningCertificate }> = [];
  /** Records present but unreadable: not reported again as missing. */
  const unreadable = new Set<string>();

  /** The export's items (between the header and the seal): recomputed here as the server computed them. */
  const itemLines: ExportItemLine[] = [];
  let seal: { line: number; seal: ExportSeal } | undefined;
  let firstLine = true;
  let headerLine: unknown;

  // A line the schema refuses: one function for the file, not a closure made per line.
  const malformed = (line: number, value: unknown, type: unknown, what: string, error: z.core.$ZodError) => {
    const { requestId, seq } = (value ?? {}) as { requestId?: unknown; seq?: unknown };
    const named = typeof requestId === 'string' && typeof seq === 'number' ? { requestId, seq } : {};
    if (named.requestId && type !== 'checkpoint' && type !== 'checkpoint_leaves') unreadable.add(key(named.requestId, named.seq!));
    const issue = error.issues[0];
    findings.push({
      kind: 'malformed',
      line,
      ...named,
      message: `line ${line}: not a valid ${what} (${issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : 'invalid'})`,
    });
  };

  lines.forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === '') return;
    const first = firstLine;
    firstLine = false;
    if (seal) {
      findings.push({ kind: 'not_as_sealed', line, message: `line ${line} comes after the export's seal: it is not part of what was exported` });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (!first) itemLines.push({ line, text });
      findings.push({ kind: 'malformed', line, message: `line ${line} is not JSON` });
      return;
    }
    // JSON parsers disagree on a repeated key (the last wins here, the first elsewhere) and on an unpaired surrogate:
    // a line holding either would verify as signed and read as forged.
    // And a key `__proto__`: no line Countersign writes holds one (the API refuses them), and the schemas below drop
    // it, so the record's hash and signature would hold with content beside them that neither covers.
    const problem = jsonTextProblem(text, { prototypeKeys: true });
    if (problem) {
      if (!first) itemLines.push({ line, text });
      const what = { duplicate_key: 'repeats the key', unpaired_surrogate: 'holds an unpaired surrogate at', prototype_key: 'holds a key no record has,' }[
        problem.kind
      ];
      findings.push({ kind: 'malformed', line, message: `line ${line} ${what} ${problem.path.join('.')}: an edited line` });
      return;
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (type === 'export') {
      if (!first) {
        findings.push({ kind: 'malformed', line, message: `line ${line}: an export header may only be the first line` });
        return;
      }
      headerLine = value;
      const parsed = exportHeaderSchema.safeParse(value);
      // An unsealed format is reported once, as unsealed, below.
      if (parsed.success) header = parsed.data;
      else if ((value as { format?: unknown }).format === EXPORT_FORMAT) malformed(line, value, type, 'export header', parsed.error);
      return;
    }
    if (type === 'export_seal') {
      const parsed = exportSealSchema.safeParse(value);
      if (!parsed.success) return malformed(line, value, type, 'export seal', parsed.error);
      seal = { line, seal: parsed.data };
      return;
    }
    const item: ExportItemLine = { line, text, value };
    itemLines.push(item);
    let canonical: string | undefined;
    if (type === 'checkpoint') {
      const parsed = checkpointSchema.safeParse(value);
      if (!parsed.success) return malformed(line, value, type, 'checkpoint', parsed.error);
      checkpoints.push({ line, checkpoint: parsed.data, valid: true });
      item.value = parsed.data;
    } else if (type === 'checkpoint_leaves') {
      const parsed = leavesPageSchema.safeParse(value);
      if (!parsed.success) return malformed(line, value, type, 'checkpoint leaf page', parsed.error);
      pages.push({ line, page: parsed.data });
      item.value = parsed.data;
    } else if (type === CERTIFICATE_TYPE) {
      const parsed = signingCertificateSchema.safeParse(value);
      if (!parsed.success) return malformed(line, value, type, 'signing certificate', parsed.error);
      certificates.push({ line, certificate: parsed.data });
      item.value = parsed.data;
    } else {
      const parsed = auditRecordSchema.safeParse(value);
      if (!parsed.success) return malformed(line, value, type, 'record', parsed.error);
      const { data: _data, actor: _actor, ...record } = parsed.data;
      const { signed, full } = recordCanonicalJson(parsed.data);
      const bytes = Buffer.from(signed, 'utf8');
      records.push({ line, record, signed: bytes, hashMatches: sha256Hex(bytes) === record.hash, valid: true, covered: false });
      canonical = full;
      item.value = record;
    }
    // The seal's digest of the item, taken now: the line's own parsed JSON then need not be kept until the seal (its
    // parsed copy stands in for it, with the same type and time). Keeping both cost more than parsing.
    item.digest = exportItemDigest(canonical ?? canonicalize(value)!);
  });

  // The seal: signed by the ledger key, the header its own, the items exactly those it was made over.
  let sealed = false;
  let authentic = false;
  if (!seal) {
    const format = (headerLine as { format?: unknown } | undefined)?.format;
    findings.push({
      kind: 'unsealed',
      message:
        typeof format === 'number' && format < EXPORT_FORMAT
          ? `the export is unsealed (format ${format}, from a Countersign that did not seal exports): nothing ties its lines to what the export returned; re-export it with countersign audit export`
          : "the export is unsealed: it has no seal line (the export's signed last line), so nothing ties its lines to what the export returned; re-export it with countersign audit export",
    });
  } else {
    ({ sealed, authentic } = sealFindings(seal, header, headerLine, itemLines, checkpoints, publicKey, findings));
  }
  // Judged as a seal the ledger key signed says, whatever the header claims; as the header claims without one (the
  // report fails then anyway).
  const claimed = header ?? claimedHeader(headerLine);
  const window = authentic ? seal!.seal : claimed;
  const exportedAt = authentic ? seal!.seal.exportedAt : claimed?.exportedAt;

  const partial = window?.since !== undefined || window?.until !== undefined;
  const total = records.length + checkpoints.length;
  let done = 0;
  const progress = () => {
    done += 1;
    if (options.onProgress && (done % 256 === 0 || done === total)) options.onProgress(done, total);
  };

  // Each request's records, in file order.
  const byRequest = new Map<string, RecordEntry[]>();
  for (const entry of records) {
    const list = byRequest.get(entry.record.requestId) ?? [];
    list.push(entry);
    byRequest.set(entry.record.requestId, list);
  }
  const missing = new Map<string, Set<number>>();
  const addMissing = (requestId: string, seq: number) => {
    if (unreadable.has(key(requestId, seq))) return;
    const set = missing.get(requestId) ?? new Set<number>();
    set.add(seq);
    missing.set(requestId, set);
  };
  /** The records by request id, then seq (nested: a string key per record cost more than the lookups). */
  const index = new Map<string, Map<number, RecordEntry>>();

  // Certificates: each signed by the ledger key, once. A record names its certificate by id (its key's fingerprint).
  const seenCertificates = new Map<string, number>();
  for (const { line, certificate } of certificates) {
    const { certificateId, requestId } = certificate;
    const before = seenCertificates.get(certificateId);
    if (before !== undefined) {
      findings.push({ kind: 'duplicate', requestId, seq: 1, line, message: `certificate ${certificateId} appears twice (lines ${before} and ${line})` });
      continue;
    }
    seenCertificates.set(certificateId, line);
    const problem = certificateProblem(certificate, publicKey);
    if (problem) findings.push({ kind: 'certificate_forged', requestId, seq: 1, line, message: `certificate ${certificateId}: ${problem}` });
  }
  const keys = recordKeys(
    publicKey,
    certificates.map((c) => c.certificate),
  );

  for (const [requestId, list] of byRequest) {
    const maxSeq = Math.max(...list.map((e) => e.record.seq));
    const bySeq = new Map<number, RecordEntry>();
    index.set(requestId, bySeq);
    let highest = 0;
    for (const entry of list) {
      const { record, line } = entry;
      // Content and signature.
      const canonical = entry.signed;
      if (!entry.hashMatches) {
        entry.valid = false;
        // Its canonical JSON without hash and signature is the record unsigned, `data` and all.
        const signedAs = movedFrom(JSON.parse(entry.signed.toString('utf8')) as UnsignedRecord, record.hash, maxSeq);
        findings.push(
          signedAs === undefined
            ? { kind: 'edited', requestId, seq: record.seq, line, message: `${requestId} seq ${record.seq}: its content does not match its hash` }
            : { kind: 'reordered', requestId, seq: record.seq, line, message: `${requestId} seq ${record.seq}: holds the record signed as seq ${signedAs}` },
        );
      } else {
        const key = keys(record);
        const problem =
          'problem' in key
            ? key.problem
            : signatureValid(record.signature, canonical, key)
              ? undefined
              : `the signature is not the ${key === publicKey ? "ledger key's" : "certified key's"} over this record`;
        if (problem) {
          entry.valid = false;
          findings.push({ kind: 'bad_signature', requestId, seq: record.seq, line, message: `${requestId} seq ${record.seq}: ${problem}` });
        }
      }
      progress();
      // Order within the export: a chain is exported oldest first.
      if (record.seq < highest) {
        findings.push({
          kind: 'reordered',
          requestId,
          seq: record.seq,
          line,
          message: `${requestId} seq ${record.seq} comes after seq ${highest} in the export`,
        });
      }
      highest = Math.max(highest, record.seq);
      if (bySeq.has(record.seq)) {
        entry.valid = false;
        findings.push({ kind: 'duplicate', requestId, seq: record.seq, line, message: `${requestId} seq ${record.seq} appears twice (again on line ${line})` });
      } else {
        bySeq.set(record.seq, entry);
      }
    }
    // Links and gaps, in seq order.
    const chain = [...new Map(list.map((e) => [e.record.seq, e])).values()].sort((a, b) => a.record.seq - b.record.seq);
    const first = chain[0]!.record;
    if (first.seq === 1 && first.prevHash !== GENESIS_HASH) {
      findings.push({ kind: 'broken_link', requestId, seq: 1, message: `${requestId} seq 1: prevHash is not the genesis hash` });
    }
    if (!partial) for (let seq = 1; seq < first.seq; seq++) addMissing(requestId, seq);
    for (let i = 1; i < chain.length; i++) {
      const before = chain[i - 1]!.record;
      const after = chain[i]!.record;
      for (let seq = before.seq + 1; seq < after.seq; seq++) addMissing(requestId, seq);
      if (after.seq === before.seq + 1 && after.prevHash !== before.hash) {
        findings.push({
          kind: 'broken_link',
          requestId,
          seq: after.seq,
          message: `${requestId} seq ${after.seq}: prevHash is not the hash of seq ${before.seq}`,
        });
      }
    }
  }

  // Checkpoints: each signed, each linked to the one before, each with the leaves its root commits to.
  const sorted = checkpoints.sort((a, b) => a.checkpoint.seq - b.checkpoint.seq);
  const pagesOf = new Map<string, LeavesPage[]>();
  for (const { page } of pages) {
    const k = key(page.pagesId, page.checkpoint);
    pagesOf.set(k, [...(pagesOf.get(k) ?? []), page]);
  }
  let previous: Checkpoint | undefined;
  for (const entry of sorted) {
    const cp = entry.checkpoint;
    const canonical = canonicalSignedJson(cp);
    const edited = sha256Hex(canonical) !== cp.hash;
    if (edited || !signatureValid(cp.signature, canonical, publicKey)) {
      entry.valid = false;
      findings.push({
        kind: 'checkpoint_forged',
        checkpoint: cp.seq,
        line: entry.line,
        message: `checkpoint ${cp.seq}: ${edited ? 'its content does not match its hash' : "the signature is not the ledger key's"}`,
      });
    }
    progress();
    if (previous && cp.seq === previous.seq) {
      entry.valid = false;
      findings.push({ kind: 'checkpoint_forged', checkpoint: cp.seq, line: entry.line, message: `checkpoint ${cp.seq} appears twice` });
      continue;
    }
    if (!previous && !partial && (cp.seq !== 1 || cp.prevHash !== GENESIS_HASH || cp.from !== LEDGER_ORIGIN)) {
      findings.push({
        kind: 'checkpoint_missing',
        checkpoint: cp.seq,
        message: `checkpoints before ${cp.seq} are missing: the first checkpoint starts the chain`,
      });
    } else if (previous && cp.seq !== previous.seq + 1) {
      findings.push({ kind: 'checkpoint_missing', checkpoint: previous.seq + 1, message: `checkpoints ${previous.seq + 1}–${cp.seq - 1} are missing` });
    } else if (previous && (cp.prevHash !== previous.hash || cp.from !== previous.until || cp.total !== previous.total + cp.count)) {
      entry.valid = false;
      findings.push({
        kind: 'checkpoint_forged',
        checkpoint: cp.seq,
        line: entry.line,
        message: `checkpoint ${cp.seq} does not continue checkpoint ${previous.seq}`,
      });
    }
    previous = cp;
    if (!entry.valid) continue;
    const own = (pagesOf.get(key(cp.pagesId, cp.seq)) ?? []).sort((a, b) => a.seq - b.seq);
    const leaves = own.flatMap((p) => p.leaves);
    const complete = own.length === cp.pages && own.every((p, i) => p.seq === i + 1 && p.from === cp.from && p.until === cp.until);
    if (!complete || leaves.length !== cp.count || merkleRoot(leaves) !== cp.root) {
      findings.push({
        kind: 'checkpoint_leaves',
        checkpoint: cp.seq,
        message: `checkpoint ${cp.seq}: its leaf pages ${complete ? 'do not match its signed root' : 'are missing or incomplete'}, so the records it covers cannot be named`,
      });
      continue;
    }
    entry.leaves = leaves;
  }

  // Coverage: every leaf present as committed; every record in a checkpointed range among its leaves.
  const withLeaves = sorted.filter((e) => e.valid && e.leaves);
  for (const entry of withLeaves) {
    for (const [requestId, seq, hash] of entry.leaves!) {
      const record = index.get(requestId)?.get(seq);
      if (!record) {
        addMissing(requestId, seq);
        continue;
      }
      record.covered = true;
      if (record.valid && record.record.hash !== hash) {
        record.valid = false;
        findings.push({
          kind: 'edited',
          requestId,
          seq,
          line: record.line,
          message: `${requestId} seq ${seq}: differs from the record checkpoint ${entry.checkpoint.seq} committed to`,
        });
      }
    }
  }
  const asOf = options.asOf ?? (exportedAt ? new Date(exportedAt) : new Date());
  const maxAgeMs = (options.maxCheckpointAgeSeconds ?? DEFAULT_MAX_CHECKPOINT_AGE_SECONDS) * 1000;
  const openEnded = window?.until === undefined;
  let pending = 0;
  let covered = 0;
  for (const entry of [...index.values()].flatMap((bySeq) => [...bySeq.values()])) {
    if (entry.covered) {
      covered += 1;
      continue;
    }
    const at = Date.parse(entry.record.at);
    // Any checkpoint claiming the record's time, even a forged one: its own finding already says what is wrong.
    const range = sorted.find((e) => Date.parse(e.checkpoint.from) < at && at <= Date.parse(e.checkpoint.until));
    const { requestId, seq } = entry.record;
    if (range?.valid && range.leaves) {
      findings.push({
        kind: 'extra',
        requestId,
        seq,
        line: entry.line,
        message: `${requestId} seq ${seq}: not among the records checkpoint ${range.checkpoint.seq} committed to for its time`,
      });
    } else if (range) {
      // Its checkpoint's leaves are unusable: already reported.
    } else if (openEnded && at <= asOf.getTime() - maxAgeMs && !(partial && sorted[0] && at <= Date.parse(sorted[0].checkpoint.from))) {
      findings.push({
        kind: 'uncovered',
        requestId,
        seq,
        line: entry.line,
        message: `${requestId} seq ${seq}: written ${entry.record.at}, yet no checkpoint covers it`,
      });
    } else {
      pending += 1;
    }
  }
  const newest = sorted.at(-1)?.checkpoint;
  if (openEnded && newest && Date.parse(newest.until) < asOf.getTime() - maxAgeMs) {
    findings.push({
      kind: 'truncated',
      checkpoint: newest.seq,
      message: `the newest checkpoint (${newest.seq}) covers records only up to ${newest.until}; the ledger writes one every few minutes, so later checkpoints are missing`,
    });
  }

  // Missing records, by what their absence means.
  for (const [requestId, seqs] of [...missing].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const present = byRequest.get(requestId)?.map((e) => e.record.seq) ?? [];
    const gone = [...seqs].sort((a, b) => a - b);
    if (present.length === 0 && ![...unreadable].some((k) => k.startsWith(`${requestId}\u0000`))) {
      findings.push({
        kind: 'deleted_request',
        requestId,
        seqs: gone,
        message: `${requestId}: the whole request is gone (${gone.length} record${gone.length === 1 ? '' : 's'}: seq ${gone.join(', ')})`,
      });
      continue;
    }
    const last = Math.max(0, ...present);
    for (const seq of gone) {
      findings.push(
        seq > last
          ? { kind: 'truncated', requestId, seq, message: `${requestId} seq ${seq}: the request's newest records are cut off` }
          : { kind: 'missing', requestId, seq, message: `${requestId} seq ${seq}: missing` },
      );
    }
  }

  findings.sort(
    (a, b) =>
      FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind) ||
      (a.requestId ?? '').localeCompare(b.requestId ?? '') ||
      (a.seq ?? a.checkpoint ?? 0) - (b.seq ?? b.checkpoint ?? 0),
  );
  return {
    ok: findings.length === 0,
    sealed,
    ...(exportedAt ? { exportedAt } : {}),
    ...(partial ? { window: { ...(window?.since ? { since: window.since } : {}), ...(window?.until ? { until: window.until } : {}) } } : {}),
    records: records.length,
    requests: byRequest.size,
    checkpoints: checkpoints.length,
    certificates: certificates.length,
    covered,
    pending,
    findings,
  };
}

/** The seq a record whose hash does not match was signed as, when only its place in the chain changed. */
function movedFrom(unsigned: UnsignedRecord, hash: string, maxSeq: number): number | undefined {
  for (let seq = 1; seq <= maxSeq + 1; seq++) {
    if (seq !== unsigned.seq && signedDigest({ ...unsigned, seq }).toString('hex') === hash) return seq;
  }
  return undefined;
}

/**
 * Checks the seal and the file against it, adding what is wrong to `findings`. Answers whether the seal is
 * authentic (the ledger key's, unedited) and whether it holds: authentic, matching the header, and made over
 * exactly these items.
 */
function sealFindings(
  { line, seal }: { line: number; seal: ExportSeal },
  header: ExportHeader | undefined,
  headerLine: unknown,
  items: readonly ExportItemLine[],
  checkpoints: readonly CheckpointEntry[],
  publicKey: KeyObject,
  findings: Finding[],
): { sealed: boolean; authentic: boolean } {
  const before = findings.length;
  const problem = sealProblem(seal, publicKey);
  if (problem) {
    findings.push({
      kind: 'seal_forged',
      line,
      message: problem === 'edited' ? "the export's seal was edited: its content does not match its hash" : "the export's seal is not signed by the ledger key",
    });
  }
  if (!header) {
    findings.push({
      kind: 'header_edited',
      message: headerLine === undefined ? "the export's header (its first line) is missing" : "the export's header (its first line) is not a valid header",
    });
  } else {
    for (const field of ['exportedAt', 'since', 'until'] as const) {
      if (header[field] !== seal[field]) {
        findings.push({
          kind: 'header_edited',
          line: 1,
          message: `the header says ${field} ${header[field] ?? '(none)'}, but the seal signed ${seal[field] ?? '(none)'}`,
        });
      }
    }
  }
  // What the server computed as it returned the items, computed again over the file's items.
  const actual: ExportProgress = foldExportItems(
    startExport({ exportedAt: seal.exportedAt, since: seal.since, until: seal.until, head: seal.head }),
    items.map((item) => ({
      item: item.value,
      digest: item.digest ?? exportItemDigest(item.value === undefined ? item.text : canonicalize(item.value)!),
    })),
  );
  const differs = (what: string, sealed: number, held: number, fewer: string) =>
    findings.push({
      kind: 'not_as_sealed',
      message: `the seal counts ${sealed} ${what}; the file holds ${held}: ${held < sealed ? `${sealed - held} ${fewer}` : `${held - sealed} added`}`,
    });
  const counted = findings.length;
  if (actual.records !== seal.records) differs('records', seal.records, actual.records, 'cut');
  if (actual.checkpoints !== seal.checkpoints) differs('checkpoints', seal.checkpoints, actual.checkpoints, 'cut');
  const head = seal.head;
  if (actual.tail !== seal.tail) {
    const after = head ? `newer than checkpoint ${head.checkpoint} (${head.until})` : 'in a ledger with no checkpoint yet';
    differs(`records ${after} up to exportedAt ${seal.exportedAt}`, seal.tail, actual.tail, 'cut');
  }
  const headInWindow = head && (seal.since === undefined || head.from >= seal.since) && (seal.until === undefined || head.until <= seal.until);
  if (headInWindow && !checkpoints.some((c) => c.checkpoint.seq === head.checkpoint && c.checkpoint.hash === head.hash)) {
    findings.push({
      kind: 'not_as_sealed',
      checkpoint: head.checkpoint,
      message: `the seal names checkpoint ${head.checkpoint} (up to ${head.until}) as the ledger's newest at exportedAt ${seal.exportedAt}; the file does not hold it`,
    });
  }
  if (findings.length === counted && actual.items !== seal.items) differs('items', seal.items, actual.items, 'cut (checkpoint leaf pages)');
  if (findings.length === counted && actual.digest !== seal.digest) {
    findings.push({
      kind: 'not_as_sealed',
      message: "the file's lines are not the ones the export returned (the seal's digest differs): edited, replaced or reordered",
    });
  }
  return { sealed: findings.length === before, authentic: problem === undefined };
}

/** What an unreadable or unsealed-format header claims, for judging the rest of the file (never trusted). */
function claimedHeader(value: unknown): { exportedAt?: string; since?: string; until?: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const time = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : undefined);
  const { exportedAt, since, until } = value as Record<string, unknown>;
  return {
    ...(time(exportedAt) ? { exportedAt: time(exportedAt)! } : {}),
    ...(time(since) ? { since: time(since)! } : {}),
    ...(time(until) ? { until: time(until)! } : {}),
  };
}
