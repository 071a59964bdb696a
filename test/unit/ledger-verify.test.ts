import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  checkpointSchema,
  LEAVES_PER_PAGE,
  LEDGER_ORIGIN,
  type Leaf,
  type LeavesPage,
  merkleRoot,
  merkleTreeHash,
  planCheckpoint,
  SLOT_SHARDS,
  slotKeys,
  slotsBetween,
} from '../../lambdas/core/checkpoint';
import { type AuditEvent, type AuditRecord, auditRecordSchema, nextUnsignedRecord } from '../../lambdas/core/ledger-record';
import { verifyLedgerLines } from '../../lambdas/core/ledger-verify';
import { sealedExportLines, signEntry, testKey } from '../fixtures/ledger-key';

const EVENTS: AuditEvent[] = [
  { type: 'requested', actor: 'agent', data: { action: 'data.export' } },
  { type: 'policy_decided', actor: 'policy', data: { rule: 'prod-exports' } },
  { type: 'voted', actor: 'alice@example.com', data: { decision: 'approve', reason: 'ok' } },
  { type: 'approved', actor: 'countersign', data: {} },
];
const T0 = Date.UTC(2026, 10, 1, 9, 0);
const minute = (n: number) => new Date(T0 + n * 60_000);

/** Four requests of four records, a minute apart per request, and two checkpoints: the first covers requests A and B. */
const KEY = testKey();

function buildLedger() {
  const { secretKey, publicKey } = KEY;
  const records: AuditRecord[] = [];
  ['act_A', 'act_B', 'act_C', 'act_D'].forEach((requestId, r) => {
    const chain: AuditRecord[] = [];
    EVENTS.forEach((event, i) => {
      chain.push(auditRecordSchema.parse(signEntry(nextUnsignedRecord(chain, requestId, event, minute(r * 10 + i), 'key-1'), secretKey)));
    });
    records.push(...chain);
  });
  const leafOf = (r: AuditRecord): Leaf => [r.requestId, r.seq, r.hash];
  const checkpoints: Checkpoint[] = [];
  const pages: LeavesPage[] = [];
  for (const until of [minute(19).toISOString(), minute(60).toISOString()]) {
    const previous = checkpoints.at(-1);
    const from = previous?.until ?? LEDGER_ORIGIN;
    const leaves = records.filter((r) => r.at > from && r.at <= until).map(leafOf);
    const plan = planCheckpoint({
      previous,
      leaves,
      until,
      at: new Date(Date.parse(until) + 120_000),
      keyId: 'key-1',
      pagesId: `pages${checkpoints.length}xyz`,
    });
    checkpoints.push(checkpointSchema.parse(signEntry(plan.unsigned, secretKey)));
    pages.push(...plan.pages);
  }
  return { secretKey, publicKey, records, checkpoints, pages };
}

type Ledger = ReturnType<typeof buildLedger>;
const header = { exportedAt: minute(65).toISOString() };
/** The ledger's lines as the API exports and seals them (so damage to the store, not to the file). */
const lines = (l: Pick<Ledger, 'records' | 'checkpoints' | 'pages'>, window: { exportedAt: string; since?: string; until?: string } = header) =>
  sealedExportLines([...l.records, ...l.checkpoints, ...l.pages], window, KEY.secretKey);
const kinds = (report: ReturnType<typeof verifyLedgerLines>) => report.findings.map((f) => [f.kind, f.requestId ?? f.checkpoint, f.seq]);

describe('RFC 6962 Merkle tree hash', () => {
  // The Certificate Transparency reference vectors for the first 0..8 leaves.
  const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
  const roots = [
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  it.each(roots.map((root, n) => [n, root] as const))('matches the reference root of %i leaves', (n, root) => {
    expect(merkleTreeHash(inputs.slice(0, n)).toString('hex')).toBe(root);
  });

  it('changes with any leaf, and with leaf order', () => {
    const leaves: Leaf[] = [
      ['act_a', 1, 'a'.repeat(64)],
      ['act_a', 2, 'b'.repeat(64)],
      ['act_b', 1, 'c'.repeat(64)],
    ];
    const root = merkleRoot(leaves);
    expect(merkleRoot([leaves[1]!, leaves[0]!, leaves[2]!])).not.toBe(root);
    expect(merkleRoot([leaves[0]!, leaves[1]!, ['act_b', 2, 'c'.repeat(64)]])).not.toBe(root);
  });

  it('property: the root of leaves is the tree hash of their canonical JSON, for any count and any request id', () => {
    const leaf = fc.tuple(fc.string({ minLength: 1, unit: 'binary' }), fc.integer({ min: 1 }), fc.string({ minLength: 1 }));
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 40 }), (leaves: Leaf[]) => {
        expect(merkleRoot(leaves)).toBe(merkleTreeHash(leaves.map((l) => Buffer.from(canonicalize(l)!, 'utf8'))).toString('hex'));
      }),
    );
  });
});

describe('checkpoint planning', () => {
  it('chains each checkpoint to the one before and splits leaves into pages', () => {
    const leaves: Leaf[] = Array.from({ length: LEAVES_PER_PAGE + 5 }, (_, i) => [`act_${String(i).padStart(5, '0')}`, 1, 'a'.repeat(64)]);
    const first = planCheckpoint({
      previous: undefined,
      leaves: [...leaves].reverse(),
      until: minute(5).toISOString(),
      at: minute(6),
      keyId: 'k',
      pagesId: 'abcdefgh',
    });
    expect(first.unsigned).toMatchObject({
      seq: 1,
      from: LEDGER_ORIGIN,
      until: minute(5).toISOString(),
      count: leaves.length,
      total: leaves.length,
      pages: 2,
      prevHash: '0'.repeat(64),
    });
    expect(first.pages.map((p) => [p.seq, p.leaves.length, p.requestId])).toEqual([
      [1, LEAVES_PER_PAGE, 'checkpoint#1#abcdefgh'],
      [2, 5, 'checkpoint#1#abcdefgh'],
    ]);
    // Sorted before hashing: the root does not depend on the order the leaves were found in.
    expect(first.unsigned.root).toBe(merkleRoot(leaves));
    const signed = checkpointSchema.parse({ ...first.unsigned, hash: 'f'.repeat(64), signature: 'AAAA' });
    const second = planCheckpoint({ previous: signed, leaves: [], until: minute(10).toISOString(), at: minute(11), keyId: 'k', pagesId: 'ijklmnop' });
    expect(second.unsigned).toMatchObject({ seq: 2, from: minute(5).toISOString(), count: 0, total: leaves.length, pages: 0, prevHash: 'f'.repeat(64) });
    expect(() => planCheckpoint({ previous: signed, leaves: [], until: minute(1).toISOString(), at: minute(11), keyId: 'k', pagesId: 'ijklmnop' })).toThrow(
      /before its from/,
    );
  });

  it('spreads an hour of records over every shard of the slot index', () => {
    const shards = new Set(Array.from({ length: 500 }, (_, i) => slotKeys({ requestId: `act_${i}`, seq: 1, at: '2026-11-01T09:15:00.000Z' }).slot));
    expect(shards.size).toBe(SLOT_SHARDS);
    expect([...shards].every((s) => s.startsWith('2026-11-01T09#'))).toBe(true);
    expect(slotKeys({ requestId: 'act_x', seq: 7, at: '2026-11-01T09:15:00.000Z' }).rk).toBe('2026-11-01T09:15:00.000Z#act_x#0000000007');
    expect(slotsBetween('2026-11-01T09:59:00.000Z', '2026-11-01T10:00:00.000Z')).toHaveLength(2 * SLOT_SHARDS);
  });
});

describe('verifyLedgerLines', () => {
  it('passes a clean export and counts what the checkpoints cover', () => {
    const ledger = buildLedger();
    const report = verifyLedgerLines(lines(ledger), ledger.publicKey);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, records: 16, requests: 4, checkpoints: 2, covered: 16, pending: 0 });
  });

  it('passes the records one-time redemption adds: executed, and an approval lapsing unredeemed (expired, not redeemed)', () => {
    const ledger = buildLedger();
    const extend = (requestId: string, event: AuditEvent, at: Date) => {
      const chain = ledger.records.filter((r) => r.requestId === requestId);
      const record = auditRecordSchema.parse(signEntry(nextUnsignedRecord(chain, requestId, event, at, 'key-1'), KEY.secretKey));
      ledger.records.splice(ledger.records.indexOf(chain.at(-1)!) + 1, 0, record);
    };
    const executed = { redeemer: 'agent', redemptionId: `rdm_${'a'.repeat(22)}`, receiptSha256: 'r'.repeat(64), parametersCommitment: 'c'.repeat(64) };
    extend('act_C', { type: 'executed', actor: 'agent', data: executed }, minute(61));
    extend('act_D', { type: 'expired', actor: 'countersign', data: { decidedBy: 'timeout', reason: 'not redeemed' } }, minute(62));
    const report = verifyLedgerLines(lines(ledger), ledger.publicKey);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, records: 18, requests: 4, covered: 16, pending: 2 });
  });

  it('names an edited field', () => {
    const ledger = buildLedger();
    ledger.records[6] = { ...ledger.records[6]!, data: { decision: 'approve', reason: 'edited later' } };
    expect(kinds(verifyLedgerLines(lines(ledger), ledger.publicKey))).toEqual([['edited', 'act_B', 3]]);
  });

  it('refuses a line that repeats a key: it verifies last-key-wins but reads first-key-wins', () => {
    const ledger = buildLedger();
    const exported = lines(ledger);
    const at = exported.findIndex((l) => l.includes('"type":"approved"'));
    const header = 0;
    const seal = exported.length - 1;
    for (const [index, forged] of [
      [at, `{"type":"denied",${exported[at]!.slice(1)}`],
      [header, `{"exportedAt":"2020-01-01T00:00:00.000Z",${exported[header]!.slice(1)}`],
      [seal, `{"records":1,${exported[seal]!.slice(1)}`],
    ] as const) {
      const edited = exported.map((l, i) => (i === index ? forged : l));
      const report = verifyLedgerLines(edited, ledger.publicKey);
      expect(report.ok, forged.slice(0, 40)).toBe(false);
      expect(report.findings.find((f) => f.line === index + 1)?.message).toMatch(/repeats the key/);
    }
  });

  it('names two records swapped in the export', () => {
    const ledger = buildLedger();
    [ledger.records[1], ledger.records[2]] = [ledger.records[2]!, ledger.records[1]!];
    expect(kinds(verifyLedgerLines(lines(ledger), ledger.publicKey))).toEqual([['reordered', 'act_A', 2]]);
  });

  it('names two records whose places in the chain were swapped in the store', () => {
    const ledger = buildLedger();
    const [two, three] = [ledger.records[1]!, ledger.records[2]!];
    ledger.records[1] = { ...three, seq: 2 };
    ledger.records[2] = { ...two, seq: 3 };
    const report = verifyLedgerLines(lines(ledger), ledger.publicKey);
    expect(kinds(report)).toEqual([
      ['reordered', 'act_A', 2],
      ['reordered', 'act_A', 3],
      ['broken_link', 'act_A', 2],
      ['broken_link', 'act_A', 3],
      ['broken_link', 'act_A', 4],
    ]);
    expect(report.findings[0]!.message).toMatch(/signed as seq 3/);
  });

  it('names a dropped record', () => {
    const ledger = buildLedger();
    ledger.records.splice(9, 1); // act_C seq 2
    expect(kinds(verifyLedgerLines(lines(ledger), ledger.publicKey))).toEqual([['missing', 'act_C', 2]]);
  });

  it('names a whole request deleted', () => {
    const ledger = buildLedger();
    ledger.records = ledger.records.filter((r) => r.requestId !== 'act_B');
    const report = verifyLedgerLines(lines(ledger), ledger.publicKey);
    expect(kinds(report)).toEqual([['deleted_request', 'act_B', undefined]]);
    expect(report.findings[0]!.seqs).toEqual([1, 2, 3, 4]);
  });

  it('names the newest records cut off', () => {
    const ledger = buildLedger();
    ledger.records.splice(-2);
    expect(kinds(verifyLedgerLines(lines(ledger), ledger.publicKey))).toEqual([
      ['truncated', 'act_D', 3],
      ['truncated', 'act_D', 4],
    ]);
  });

  it('names a tail cut together with its checkpoint, from the age of the newest checkpoint left', () => {
    const ledger = buildLedger();
    ledger.records = ledger.records.filter((r) => r.requestId < 'act_C');
    ledger.checkpoints.pop();
    ledger.pages = ledger.pages.filter((p) => p.checkpoint === 1);
    // Exported an hour later, the newest checkpoint left is far older than the checkpoint cadence allows.
    const report = verifyLedgerLines(lines(ledger, { ...header, exportedAt: minute(120).toISOString() }), ledger.publicKey);
    expect(kinds(report)).toEqual([['truncated', 1, undefined]]);
  });

  it('names a signature taken from another record', () => {
    const ledger = buildLedger();
    ledger.records[5] = { ...ledger.records[5]!, signature: ledger.records[4]!.signature };
    expect(kinds(verifyLedgerLines(lines(ledger), ledger.publicKey))).toEqual([['bad_signature', 'act_B', 2]]);
  });

  it('names a forged checkpoint: edited, or signed by another key', () => {
    const ledger = buildLedger();
    const edited = { ...ledger, checkpoints: [ledger.checkpoints[0]!, { ...ledger.checkpoints[1]!, count: 4, total: 12 }] };
    expect(kinds(verifyLedgerLines(lines(edited), ledger.publicKey))[0]).toEqual(['checkpoint_forged', 2, undefined]);
    const other = testKey();
    const { hash: _h, signature: _s, ...unsigned } = ledger.checkpoints[1]!;
    const resigned = { ...ledger, checkpoints: [ledger.checkpoints[0]!, signEntry({ ...unsigned, count: 4, total: 12 }, other.secretKey)] };
    const report = verifyLedgerLines(lines(resigned), ledger.publicKey);
    expect(report.findings.map((f) => f.kind)).toContain('checkpoint_forged');
    expect(report.ok).toBe(false);
  });

  it('names a record inserted into a range a checkpoint had closed', () => {
    const ledger = buildLedger();
    const chain = ledger.records.filter((r) => r.requestId === 'act_A');
    const late = auditRecordSchema.parse(
      signEntry(nextUnsignedRecord(chain, 'act_A', { type: 'voted', actor: 'mallory', data: {} }, minute(5), 'key-1'), ledger.secretKey),
    );
    ledger.records.splice(4, 0, late);
    expect(kinds(verifyLedgerLines(lines(ledger), ledger.publicKey))).toEqual([['extra', 'act_A', 5]]);
  });

  it('names a missing checkpoint and leaf pages that do not match the signed root', () => {
    const ledger = buildLedger();
    const page = ledger.pages[0]!;
    const altered = { ...ledger, pages: [{ ...page, leaves: page.leaves.slice(1) }, ...ledger.pages.slice(1)] };
    expect(kinds(verifyLedgerLines(lines(altered), ledger.publicKey))).toEqual([['checkpoint_leaves', 1, undefined]]);
    const gap = { ...ledger, checkpoints: ledger.checkpoints.slice(1) };
    expect(kinds(verifyLedgerLines(lines(gap), ledger.publicKey))).toContainEqual(['checkpoint_missing', 2, undefined]);
  });

  it('names lines that are not ledger entries, and records too old to lack a checkpoint', () => {
    const ledger = buildLedger();
    const text = lines(ledger);
    text.splice(3, 1, '{"requestId":"act_A","seq":3,"type":"voted"}', 'not json');
    const report = verifyLedgerLines(text, ledger.publicKey);
    // Edited in the file after the export: the seal no longer matches either.
    expect(report.findings.map((f) => f.kind)).toEqual(['not_as_sealed', 'malformed', 'malformed']);
    expect(report.findings.find((f) => f.line === 4)).toMatchObject({ requestId: 'act_A', seq: 3 });
    expect(report.findings.find((f) => f.line === 5)?.message).toMatch(/not JSON/);

    const bare = verifyLedgerLines(lines({ records: ledger.records, checkpoints: [], pages: [] }), ledger.publicKey);
    expect(new Set(bare.findings.map((f) => f.kind))).toEqual(new Set(['uncovered']));
    expect(bare.findings).toHaveLength(16);
    const fresh = verifyLedgerLines(
      lines({ records: ledger.records, checkpoints: [], pages: [] }, { ...header, exportedAt: minute(31).toISOString() }),
      ledger.publicKey,
    );
    // Exported at minute 31: records up to minute 16 (requests A and B) should have a checkpoint by then.
    expect(fresh.findings.map((f) => f.requestId)).toEqual(['act_A', 'act_A', 'act_A', 'act_A', 'act_B', 'act_B', 'act_B', 'act_B']);
    expect(fresh.pending).toBe(8);
  });

  it('verifies a partial export by the checkpoints wholly inside it', () => {
    const ledger = buildLedger();
    const since = ledger.checkpoints[1]!.from;
    const part = {
      records: ledger.records.filter((r) => r.at >= since),
      checkpoints: [ledger.checkpoints[1]!],
      pages: ledger.pages.filter((p) => p.checkpoint === 2),
    };
    const report = verifyLedgerLines(lines(part, { ...header, since }), ledger.publicKey);
    expect(report.findings).toEqual([]);
    expect(report.covered).toBe(8);
    part.records.splice(0, 1);
    expect(kinds(verifyLedgerLines(lines(part, { ...header, since }), ledger.publicKey))).toEqual([['missing', 'act_C', 1]]);
  });

  it('reports progress over every signature', () => {
    const ledger = buildLedger();
    const seen: Array<[number, number]> = [];
    verifyLedgerLines(lines(ledger), ledger.publicKey, { onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.at(-1)).toEqual([18, 18]);
  });
});
