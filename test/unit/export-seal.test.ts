import { createHash } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointSchema, LEDGER_ORIGIN, type LeavesPage, planCheckpoint } from '../../lambdas/core/checkpoint';
import {
  addExportItem,
  cursorDigest,
  decodeCursor,
  EMPTY_EXPORT_DIGEST,
  type ExportCursorState,
  encodeCursor,
  exportSealSchema,
  sealDigest,
  sealProblem,
  startExport,
  unsignedSeal,
} from '../../lambdas/core/export-seal';
import {
  type AuditEvent,
  type AuditRecord,
  auditRecordSchema,
  canonicalSignedJson,
  nextUnsignedRecord,
  recordCanonicalJson,
  signatureValid,
} from '../../lambdas/core/ledger-record';
import { type LedgerReport, verifyLedgerLines } from '../../lambdas/core/ledger-verify';
import { sealedExportLines, signEntry, signSeal, testKey } from '../fixtures/ledger-key';

const KEY = testKey();
const T0 = Date.UTC(2026, 10, 1, 9, 0);
const minute = (n: number) => new Date(T0 + n * 60_000).toISOString();
const EVENTS: AuditEvent[] = [
  { type: 'requested', actor: 'agent', data: { action: 'data.export' } },
  { type: 'approved', actor: 'countersign', data: {} },
];

/** Three requests of two records (minutes 0-1, 10-11, 20-21) and one checkpoint up to minute 15 (requests A and B). */
function ledger() {
  const records: AuditRecord[] = [];
  ['act_A', 'act_B', 'act_C'].forEach((requestId, r) => {
    const chain: AuditRecord[] = [];
    EVENTS.forEach((event, i) => {
      const at = new Date(T0 + (r * 10 + i) * 60_000);
      chain.push(auditRecordSchema.parse(signEntry(nextUnsignedRecord(chain, requestId, event, at, 'key-1'), KEY.secretKey)));
    });
    records.push(...chain);
  });
  const until = minute(15);
  const plan = planCheckpoint({
    previous: undefined,
    leaves: records.filter((r) => r.at <= until).map((r) => [r.requestId, r.seq, r.hash]),
    until,
    at: new Date(minute(16)),
    keyId: 'key-1',
    pagesId: 'pagesabcd',
  });
  const checkpoint: Checkpoint = checkpointSchema.parse(signEntry(plan.unsigned, KEY.secretKey));
  return { records, checkpoint, pages: plan.pages as LeavesPage[] };
}

const EXPORTED_AT = minute(25);
const full = () => {
  const l = ledger();
  return sealedExportLines([...l.records, l.checkpoint, ...l.pages], { exportedAt: EXPORTED_AT }, KEY.secretKey);
};
const verify = (lines: string[]) => verifyLedgerLines(lines, KEY.publicKey);
const kinds = (report: LedgerReport) => [...new Set(report.findings.map((f) => f.kind))];
const messages = (report: LedgerReport) => report.findings.map((f) => f.message).join('\n');
const edit = (line: string, change: (value: Record<string, any>) => void) => {
  const value = JSON.parse(line) as Record<string, any>;
  change(value);
  return JSON.stringify(value);
};
const isRecord = (line: string) => (JSON.parse(line) as { requestId?: string }).requestId?.startsWith('act_') === true;

describe('the seal statement', () => {
  it('folds every item into the digest: its content and its order', () => {
    const l = ledger();
    const start = startExport({ exportedAt: EXPORTED_AT, head: null });
    expect(start).toMatchObject({ items: 0, records: 0, checkpoints: 0, tail: 0, digest: EMPTY_EXPORT_DIGEST });
    const [a, b] = [l.records[0]!, l.records[1]!];
    const ab = addExportItem(addExportItem(start, a), b);
    expect(addExportItem(addExportItem(start, b), a).digest).not.toBe(ab.digest);
    expect(addExportItem(addExportItem(start, a), { ...b, actor: 'mallory' }).digest).not.toBe(ab.digest);
    // Key order and whitespace are not content: the canonical JSON is hashed.
    expect(addExportItem(addExportItem(start, JSON.parse(JSON.stringify(a))), Object.fromEntries(Object.entries(b).reverse())).digest).toBe(ab.digest);
    // digest' = SHA-256(digest ‖ SHA-256(canonical JSON of the item)), from the empty export's digest.
    const sha256 = (...parts: Array<string | Buffer>) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
    const fold = (digest: string, item: object) => sha256(Buffer.from(digest, 'hex'), sha256(canonicalize(item)!)).toString('hex');
    expect(ab.digest).toBe(fold(fold(EMPTY_EXPORT_DIGEST, a), b));
  });

  it('counts records, checkpoints, and the records newer than the head up to exportedAt', () => {
    const l = ledger();
    const head = { checkpoint: 1, hash: l.checkpoint.hash, from: LEDGER_ORIGIN, until: l.checkpoint.until, total: l.checkpoint.total };
    let progress = startExport({ exportedAt: minute(20.5), head });
    for (const item of [...l.records, l.checkpoint, ...l.pages]) progress = addExportItem(progress, item);
    // act_C seq 1 (minute 20) is after the head and by exportedAt; act_C seq 2 (minute 21) is after exportedAt.
    expect(progress).toMatchObject({ items: 8, records: 6, checkpoints: 1, tail: 1 });
    let headless = startExport({ exportedAt: minute(20.5), head: null });
    for (const record of l.records) headless = addExportItem(headless, record);
    expect(headless.tail).toBe(5);
  });

  it('is signed under its own domain: a seal signature is no record signature, and a record-style signature no seal', () => {
    const unsigned = unsignedSeal(startExport({ exportedAt: EXPORTED_AT, head: null }), 'key-1');
    const seal = signSeal(unsigned, KEY.secretKey);
    expect(sealProblem(seal, KEY.publicKey)).toBeUndefined();
    // Checked as records and checkpoints are (over the bare canonical JSON), the seal's signature fails.
    expect(signatureValid(seal.signature, canonicalSignedJson(seal), KEY.publicKey)).toBe(false);
    // A signature made as for a record over the same statement is not a seal's.
    const recordStyle = signEntry(unsigned, KEY.secretKey);
    expect(sealProblem(exportSealSchema.parse({ ...recordStyle, hash: sealDigest(unsigned).toString('hex') }), KEY.publicKey)).toBe('bad_signature');
    expect(sealProblem(exportSealSchema.parse(recordStyle), KEY.publicKey)).toBe('edited');
    expect(sealProblem(signSeal(unsigned, testKey().secretKey), KEY.publicKey)).toBe('bad_signature');
    expect(sealProblem({ ...seal, records: 1 }, KEY.publicKey)).toBe('edited');
  });
});

describe('the export cursor', () => {
  const state: ExportCursorState = {
    position: { requestId: 'act_A', seq: 2 },
    progress: startExport({ exportedAt: EXPORTED_AT, since: minute(1), head: null }),
  };
  const signed = (s: ExportCursorState, secretKey = KEY.secretKey) =>
    encodeCursor(s, p256.sign(cursorDigest(s), secretKey, { prehash: false, format: 'der', lowS: false }));

  it('carries the position and the progress, signed by the ledger key', () => {
    expect(decodeCursor(signed(state), KEY.publicKey)).toEqual(state);
  });

  it('cannot be forged or steered', () => {
    const cursor = signed(state);
    const [, signature] = cursor.split('.');
    // A client that rewrites the digest, the counts, the window or the position keeps the old signature: refused.
    for (const progress of [
      { ...state.progress, digest: 'a'.repeat(64) },
      { ...state.progress, records: 7 },
      { ...state.progress, since: minute(0) },
    ]) {
      const body = Buffer.from(JSON.stringify({ ...state, progress })).toString('base64url');
      expect(decodeCursor(`${body}.${signature}`, KEY.publicKey)).toBeUndefined();
    }
    const moved = Buffer.from(JSON.stringify({ ...state, position: { requestId: 'act_Z', seq: 1 } })).toString('base64url');
    expect(decodeCursor(`${moved}.${signature}`, KEY.publicKey)).toBeUndefined();
    expect(decodeCursor(signed(state, testKey().secretKey), KEY.publicKey)).toBeUndefined();
    // The same state signed as a seal is signed is no cursor.
    const asSeal = encodeCursor(
      state,
      p256.sign(sealDigest(unsignedSeal(state.progress, 'key-1')), KEY.secretKey, { prehash: false, format: 'der', lowS: false }),
    );
    expect(decodeCursor(asSeal, KEY.publicKey)).toBeUndefined();
    for (const junk of ['', 'eyJub3QiOiJvdXJzIn0', 'a.b', `${'A'.repeat(5000)}.AAAA`]) expect(decodeCursor(junk, KEY.publicKey)).toBeUndefined();
  });
});

describe('verifying a sealed export', () => {
  it('passes an untouched full export, sealed, with no window', () => {
    const report = verify(full());
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, sealed: true, exportedAt: EXPORTED_AT, records: 6, checkpoints: 1, covered: 4, pending: 2 });
    expect(report.window).toBeUndefined();
  });

  it('refuses an unsealed export: the seal line dropped, or an older unsealed format', () => {
    const dropped = verify(full().slice(0, -1));
    expect(kinds(dropped)).toEqual(['unsealed']);
    expect(dropped).toMatchObject({ ok: false, sealed: false });
    expect(messages(dropped)).toMatch(/unsealed.*re-export it/);
    const old = full().slice(0, -1);
    old[0] = edit(old[0]!, (h) => (h.format = 1));
    const report = verify(old);
    expect(kinds(report)).toEqual(['unsealed']);
    expect(messages(report)).toMatch(/unsealed \(format 1/);
  });

  it('refuses an edited header: exportedAt moved, a window added or removed, the header gone', () => {
    const lines = full();
    const cases: Array<[string, (h: Record<string, any>) => void, RegExp]> = [
      ['exportedAt moved back', (h) => (h.exportedAt = minute(12)), /header says exportedAt .*, but the seal signed/],
      ['until added', (h) => (h.until = minute(12)), /header says until 2026.*, but the seal signed \(none\)/],
      ['since added', (h) => (h.since = minute(5)), /header says since 2026.*, but the seal signed \(none\)/],
    ];
    for (const [name, change, message] of cases) {
      const report = verify([edit(lines[0]!, change), ...lines.slice(1)]);
      expect(kinds(report), name).toContain('header_edited');
      expect(messages(report), name).toMatch(message);
      expect(report.ok, name).toBe(false);
      // Judged as the seal says, not as the edited header: no window.
      expect(report.window, name).toBeUndefined();
    }
    const l = ledger();
    const windowed = sealedExportLines(
      l.records.filter((r) => r.at >= minute(10)),
      { exportedAt: EXPORTED_AT, since: minute(10) },
      KEY.secretKey,
    );
    const widened = verify([edit(windowed[0]!, (h) => delete h.since), ...windowed.slice(1)]);
    expect(kinds(widened)).toContain('header_edited');
    expect(widened.window).toEqual({ since: minute(10) });
    expect(kinds(verify(lines.slice(1)))).toEqual(['header_edited']);
  });

  it('detects a cut newest record, oldest record, newest checkpoint and middle window', () => {
    const lines = full();
    const recordLines = lines
      .map((l, i) => [l, i] as const)
      .filter(([l]) => isRecord(l))
      .map(([, i]) => i);
    const newest = recordLines.at(-1)!;
    const oldest = recordLines[0]!;
    const cases: Array<[string, string[], RegExp]> = [
      [
        'newest record',
        lines.filter((_, i) => i !== newest),
        /seal counts 6 records; the file holds 5: 1 cut[\s\S]*2 records newer than checkpoint 1 .* the file holds 1: 1 cut/,
      ],
      ['oldest record', lines.filter((_, i) => i !== oldest), /seal counts 6 records; the file holds 5: 1 cut/],
      [
        'newest checkpoint and its pages',
        lines.filter((l) => !['checkpoint', 'checkpoint_leaves'].includes(JSON.parse(l).type)),
        /seal counts 1 checkpoints; the file holds 0[\s\S]*names checkpoint 1 .* the file does not hold it/,
      ],
      ['middle window', lines.filter((_, i) => i !== recordLines[2] && i !== recordLines[3]), /seal counts 6 records; the file holds 4: 2 cut/],
    ];
    for (const [name, copy, message] of cases) {
      const report = verify(copy);
      expect(report.ok, name).toBe(false);
      expect(kinds(report), name).toContain('not_as_sealed');
      expect(messages(report), name).toMatch(message);
    }
  });

  it('detects lines reordered or edited without changing any count', () => {
    const lines = full();
    const swapped = [...lines];
    [swapped[3], swapped[5]] = [swapped[5]!, swapped[3]!];
    expect(messages(verify(swapped))).toMatch(/seal's digest differs/);
    // Data the records' signatures do not speak for (a leaf page reordered) still changes the digest.
    const pageLine = lines.findIndex((l) => JSON.parse(l).type === 'checkpoint_leaves');
    const reversed = [...lines];
    reversed[pageLine] = edit(lines[pageLine]!, (p) => p.leaves.reverse());
    expect(kinds(verify(reversed))).toContain('not_as_sealed');
  });

  it('refuses lines after the seal, an edited seal, a seal from another key, and a seal from another export', () => {
    const lines = full();
    const l = ledger();
    const appended = verify([...lines, JSON.stringify(l.records[0])]);
    expect(kinds(appended)).toEqual(['not_as_sealed']);
    expect(messages(appended)).toMatch(/line 11 comes after the export's seal/);

    const edited = [...lines.slice(0, -1), edit(lines.at(-1)!, (s) => (s.records -= 1))];
    expect(kinds(verify(edited))).toContain('seal_forged');
    expect(messages(verify(edited))).toMatch(/seal was edited/);

    const foreign = sealedExportLines([...l.records, l.checkpoint, ...l.pages], { exportedAt: EXPORTED_AT }, testKey().secretKey);
    expect(messages(verify([...lines.slice(0, -1), foreign.at(-1)!]))).toMatch(/seal is not signed by the ledger key/);

    // A genuine seal of an earlier export of the same ledger, with the newest record cut to fit its exportedAt.
    const earlier = sealedExportLines([...l.records.slice(0, -1), l.checkpoint, ...l.pages], { exportedAt: minute(20.5) }, KEY.secretKey);
    const swapped = verify([lines[0]!, ...lines.slice(1, -1).filter((_, i) => i !== 5), earlier.at(-1)!]);
    expect(kinds(swapped)).toContain('header_edited');
    expect(swapped.ok).toBe(false);
    const both = verify([earlier[0]!, ...lines.slice(1, -1), earlier.at(-1)!]);
    expect(kinds(both)).toEqual(['not_as_sealed']);
  });

  it('judges a windowed export as partial, and says which window', () => {
    const l = ledger();
    const since = minute(10);
    const until = minute(22);
    // The ledger's newest checkpoint at exportedAt lies before the window: the seal names it, the file need not hold it.
    const head = { checkpoint: 1, hash: l.checkpoint.hash, from: l.checkpoint.from, until: l.checkpoint.until, total: l.checkpoint.total };
    const lines = sealedExportLines(
      l.records.filter((r) => r.at >= since && r.at <= until),
      { exportedAt: EXPORTED_AT, since, until, head },
      KEY.secretKey,
    );
    const report = verify(lines);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, sealed: true, window: { since, until }, records: 4 });
    const cut = verify(lines.filter((_, i) => i !== 1));
    expect(cut.ok).toBe(false);
    expect(messages(cut)).toMatch(/seal counts 4 records; the file holds 3/);
  });

  it('digests each line as it reads, whatever its spelling: key order, whitespace and escapes are not content', () => {
    const lines = full();
    const at = lines.findIndex(isRecord);
    const value = JSON.parse(lines[at]!) as Record<string, unknown>;
    // Keys reversed, spaced out, and every character of the actor escaped: the same record, so still as sealed.
    const escaped = (s: string) => `"${[...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;
    const respelled = `{ ${Object.entries(value)
      .reverse()
      .map(([k, v]) => `${JSON.stringify(k)} : ${k === 'actor' ? escaped(v as string) : JSON.stringify(v, null, 1)}`)
      .join(' ,\n ')} }`;
    expect(JSON.parse(respelled)).toEqual(value);
    const report = verify(lines.map((l, i) => (i === at ? respelled : l)));
    expect(report.findings).toEqual([]);
  });

  it('reports a __proto__ key slipped into a record as an edit, sealed or not: zod drops it, so no signature covers it', () => {
    const lines = full();
    const at = lines.findIndex(isRecord);
    // JSON.parse makes `__proto__` an own key and canonical JSON keeps it; zod's parsed copy loses it, so the record's
    // hash and signature would still hold over the rest. Nested, or escaped, it is the same key.
    for (const slipped of [
      lines[at]!.replace('"data":{', '"data":{"__proto__":{"admin":true},'),
      lines[at]!.replace('"data":{', '"data":{"note":{"\\u005f_proto__":{"admin":true}},'),
    ]) {
      expect(JSON.parse(slipped)).not.toEqual(JSON.parse(lines[at]!));
      const report = verify(lines.map((l, i) => (i === at ? slipped : l)));
      expect(report.ok).toBe(false);
      expect(kinds(report)).toContain('malformed');
      expect(messages(report)).toMatch(new RegExp(`line ${at + 1} holds a key no record has, .*__proto__: an edited line`));
      expect(messages(report)).toMatch(/seal's digest differs/);
      const unsealed = verify(lines.slice(0, -1).map((l, i) => (i === at ? slipped : l)));
      expect(unsealed.ok).toBe(false);
      expect(messages(unsealed)).toMatch(/__proto__: an edited line/);
    }
  });
});

describe("a record's canonical JSON", () => {
  it('property: is canonicalSignedJson without hash and signature, and canonicalize of the whole record with them', () => {
    const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
    const record = fc.record({
      requestId: fc.string({ minLength: 1, unit: 'binary' }),
      seq: fc.integer({ min: 1 }),
      type: fc.constantFrom('requested', 'approved'),
      at: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
      actor: fc.string({ unit: 'binary' }),
      data: fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()),
      prevHash: hex64,
      hash: hex64,
      signature: fc.base64String({ minLength: 4 }),
      keyId: fc.string({ minLength: 1 }),
    });
    fc.assert(
      fc.property(record, (value) => {
        const parsed = auditRecordSchema.safeParse(JSON.parse(JSON.stringify(value)));
        if (!parsed.success) return;
        const { signed, full } = recordCanonicalJson(parsed.data);
        expect(signed).toBe(canonicalSignedJson(parsed.data));
        expect(full).toBe(canonicalize(parsed.data));
      }),
      { numRuns: 500 },
    );
  });
});
