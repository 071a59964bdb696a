/**
 * The checkpointer and the export pager against real dynalite (with the ledger's slot index) and the local KMS
 * endpoint: the first checkpoint scans, later ones read the slot index an hour at a time, racing runs write each
 * checkpoint once, slow signing is re-stamped inside the write window, and an export pages through every item once.
 */
import { createPublicKey } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointTable } from '../../lambdas/adapters/checkpoint-table';
import { kmsLedgerSigner } from '../../lambdas/adapters/kms-signer';
import { exportLedgerPage, ledgerExportSource } from '../../lambdas/adapters/ledger-scan';
import { LedgerTable } from '../../lambdas/adapters/ledger-table';
import { sealedPage } from '../../lambdas/app/export';
import { LEDGER_ORIGIN } from '../../lambdas/core/checkpoint';
import type { AuditEvent } from '../../lambdas/core/ledger-record';
import { verifyLedgerLines } from '../../lambdas/core/ledger-verify';
import { createLedgerTable, type LedgerStores, startLedgerStores } from './ledger-table';

let rawDynamo: DynamoDBClient;
let dynamo: DynamoDBDocumentClient;
let kms: KMSClient;
let keyId: string;
let tables = 0;

async function newLedgerTable(): Promise<string> {
  const name = `ledger${++tables}`;
  await createLedgerTable(rawDynamo, name);
  return name;
}

/** A clock the test moves. */
function clock(start: string) {
  let now = Date.parse(start);
  return { now: () => new Date(now), set: (iso: string) => (now = Date.parse(iso)), advance: (ms: number) => (now += ms) };
}

const EVENT: AuditEvent = { type: 'requested', actor: 'agent', data: { action: 'data.export' } };
const once = (event: AuditEvent) => (chain: readonly unknown[]) => (chain.length === 0 ? [event] : []);

/** One sealed page, as the intake function's export route reads it: the table, its checkpoints, the ledger key. */
function exportPage(
  tableName: string,
  query: { since?: string | undefined; until?: string | undefined; cursor?: string | undefined },
  limits: { maxBytes?: number; maxMillis?: number; scanLimit?: number } = {},
  clock?: () => Date,
) {
  const signer = kmsLedgerSigner(kms, keyId);
  const exportSource = ledgerExportSource({ dynamo, tableName, latestCheckpoint: () => new CheckpointTable({ tableName, dynamo, signer }).latest() });
  return sealedPage({ signer, clock: { now: clock ?? (() => new Date()), sleep: async () => {} } }, exportSource, query, limits);
}

/** Everything in the table (or a window of it), as an export would write it: header, items, seal. */
async function exportAll(
  tableName: string,
  limits: { maxBytes?: number; maxMillis?: number; scanLimit?: number } = {},
  options: { clock?: () => Date; since?: string } = {},
): Promise<{ lines: string[]; pages: number }> {
  const lines: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await exportPage(tableName, { cursor, since: options.since }, limits, options.clock);
    if (pages === 0) lines.push(JSON.stringify({ type: 'export', format: 2, exportedAt: page.exportedAt, ...(options.since ? { since: options.since } : {}) }));
    pages += 1;
    lines.push(...page.items.map((i) => JSON.stringify(i)));
    cursor = page.cursor ?? undefined;
    if (!cursor) lines.push(JSON.stringify(page.seal));
  } while (cursor);
  return { lines, pages };
}
const itemsOf = (lines: string[]) => lines.slice(1, -1);
const sealOf = (lines: string[]) => JSON.parse(lines.at(-1)!) as Record<string, unknown>;

let stores: LedgerStores;

beforeAll(async () => {
  stores = await startLedgerStores('cs-checkpoints-');
  ({ rawDynamo, dynamo, kms, keyId } = stores);
});

afterAll(() => stores?.close());

describe('CheckpointTable', () => {
  it('covers the ledger: the first run scans, later runs read the slot index an hour per checkpoint', async () => {
    const tableName = await newLedgerTable();
    const time = clock('2026-11-01T09:00:00.000Z');
    const records = new LedgerTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: time.now });
    const checkpoints = new CheckpointTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: time.now });
    const publicKey = createPublicKey(await kmsLedgerSigner(kms, keyId).publicKeyPem());
    const deadline = Number.MAX_SAFE_INTEGER;

    for (const id of ['act_a', 'act_b', 'act_c']) {
      await records.append(id, once(EVENT));
      time.advance(1000);
    }
    // Settled 10 s behind the clock: the first checkpoint covers all three, up to 09:00:20.
    time.set('2026-11-01T09:00:30.000Z');
    const [first, ...more] = await checkpoints.run({ settleSeconds: 10, deadline });
    expect(more).toEqual([]);
    expect(first).toMatchObject({ seq: 1, from: LEDGER_ORIGIN, until: '2026-11-01T09:00:20.000Z', count: 3, total: 3 });

    // Three hours later, with records in each hour: one checkpoint per hour of slots.
    for (const [id, at] of [
      ['act_d', '2026-11-01T10:15:00.000Z'],
      ['act_e', '2026-11-01T11:59:59.999Z'],
      ['act_f', '2026-11-01T12:00:00.000Z'],
    ] as const) {
      time.set(at);
      await records.append(id, once(EVENT));
    }
    time.set('2026-11-01T12:30:00.000Z');
    const later = await checkpoints.run({ settleSeconds: 60, deadline });
    expect(later.map((c) => [c.seq, c.from, c.until, c.count, c.total])).toEqual([
      [2, '2026-11-01T09:00:20.000Z', '2026-11-01T10:00:20.000Z', 0, 3],
      [3, '2026-11-01T10:00:20.000Z', '2026-11-01T11:00:20.000Z', 1, 4],
      [4, '2026-11-01T11:00:20.000Z', '2026-11-01T12:00:20.000Z', 2, 6],
      [5, '2026-11-01T12:00:20.000Z', '2026-11-01T12:29:00.000Z', 0, 6],
    ]);
    // Nothing new to cover: nothing written.
    expect(await checkpoints.run({ settleSeconds: 60, deadline })).toEqual([]);
    expect(await checkpoints.latest()).toMatchObject({ seq: 5 });

    const { lines } = await exportAll(tableName, {}, { clock: time.now });
    const report = verifyLedgerLines(lines, publicKey);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, records: 6, checkpoints: 5, covered: 6 });
  });

  it('writes each checkpoint once when runs race, and the loser leaves only unreferenced pages', async () => {
    const tableName = await newLedgerTable();
    const time = clock('2026-11-02T09:00:00.000Z');
    const records = new LedgerTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: time.now });
    for (let i = 0; i < 5; i++) await records.append(`act_race${i}`, once(EVENT));
    time.advance(120_000);
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        new CheckpointTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: time.now }).run({
          settleSeconds: 60,
          deadline: Number.MAX_SAFE_INTEGER,
        }),
      ),
    );
    expect(runs.flat().map((c) => c.seq)).toEqual([1]);
    const { Items } = await dynamo.send(
      new QueryCommand({ TableName: tableName, KeyConditionExpression: 'requestId = :cp', ExpressionAttributeValues: { ':cp': 'checkpoint' } }),
    );
    expect(Items).toHaveLength(1);
    const { lines } = await exportAll(tableName, {}, { clock: time.now });
    expect(verifyLedgerLines(lines, createPublicKey(await kmsLedgerSigner(kms, keyId).publicKeyPem())).findings).toEqual([]);
  });

  it('re-stamps a record whose signing outlasted the write window', async () => {
    const tableName = await newLedgerTable();
    let now = Date.parse('2026-11-03T09:00:00.000Z');
    let calls = 0;
    // Each reading of the clock after the first stamp moves it 6 s: signing looks slow, once.
    const slowOnce = () => {
      if (calls++ === 1) now += 6000;
      return new Date(now);
    };
    const store = new LedgerTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: slowOnce, writeWindowSeconds: 5 });
    const { appended } = await store.append('act_slow', once(EVENT));
    expect(appended[0]!.at).toBe('2026-11-03T09:00:06.000Z');
    const slowAlways = () => {
      now += 6000;
      return new Date(now);
    };
    const stuck = new LedgerTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: slowAlways, writeWindowSeconds: 5 });
    await expect(stuck.append('act_stuck', once(EVENT))).rejects.toThrow(/longer than the write window/);
    expect(await stuck.read('act_stuck')).toEqual([]);
  });
});

describe('exportLedgerPage', () => {
  it('pages through every item exactly once, chains oldest first, by byte budget', async () => {
    const tableName = await newLedgerTable();
    const store = new LedgerTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId) });
    const events: AuditEvent[] = ['requested', 'policy_decided', 'voted', 'approved'].map(
      (type) => ({ type, actor: 'x', data: { pad: 'y'.repeat(300) } }) as AuditEvent,
    );
    for (let i = 0; i < 12; i++) await store.append(`act_page${i}`, (chain) => events.slice(chain.length, chain.length + 1));
    const small = await exportAll(tableName, { maxBytes: 3000 });
    // Out of time after every Scan call: pages end at the Scan's own position, and still nothing is lost.
    const hurried = await exportAll(tableName, { maxMillis: 0, scanLimit: 5 });
    const whole = await exportAll(tableName);
    expect(small.pages).toBeGreaterThan(5);
    expect(hurried.pages).toBeGreaterThanOrEqual(48 / 5);
    expect(whole.pages).toBe(1);
    expect(itemsOf(small.lines)).toEqual(itemsOf(whole.lines));
    expect(itemsOf(hurried.lines)).toEqual(itemsOf(whole.lines));
    // The running digest carried page to page in the cursor ends where one page's does: the seals agree.
    for (const paged of [small, hurried]) {
      expect(sealOf(paged.lines)).toMatchObject({ items: 48, records: 48, tail: 48, digest: sealOf(whole.lines).digest });
    }
    const publicKey = createPublicKey(await kmsLedgerSigner(kms, keyId).publicKeyPem());
    for (const { lines } of [small, hurried, whole]) expect(verifyLedgerLines(lines, publicKey).findings).toEqual([]);
    const items = itemsOf(whole.lines).map((l) => JSON.parse(l) as { requestId: string; seq: number });
    expect(items).toHaveLength(48);
    for (let i = 0; i < items.length; i += 4) expect(items.slice(i, i + 4).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
  });

  it('carries the progress in a signed cursor: another window or a rewritten cursor is refused', async () => {
    const tableName = await newLedgerTable();
    const store = new LedgerTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId) });
    for (let i = 0; i < 6; i++) await store.append(`act_cursor${i}`, once(EVENT));
    const since = '2026-01-01T00:00:00.000Z';
    const first = await exportPage(tableName, { since }, { maxBytes: 600 });
    expect(first.cursor).toEqual(expect.any(String));
    expect(first.seal).toBeUndefined();
    const again = (input: { since?: string; until?: string; cursor: string }) => exportPage(tableName, input, { maxBytes: 600 });
    await expect(again({ cursor: first.cursor! })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/another since\/until window/),
    });
    await expect(again({ since, until: '2027-01-01T00:00:00.000Z', cursor: first.cursor! })).rejects.toMatchObject({ code: 'invalid_request' });
    // The progress rewritten (fewer items, as if the first page had returned nothing): the signature no longer holds.
    const [body, signature] = first.cursor!.split('.') as [string, string];
    const state = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    const rewritten = Buffer.from(JSON.stringify({ ...state, progress: { ...state.progress, items: 0, records: 0, tail: 0 } })).toString('base64url');
    await expect(again({ since, cursor: `${rewritten}.${signature}` })).rejects.toMatchObject({
      code: 'invalid_request',
      message: 'cursor is not one this API issued',
    });
    // Followed as issued, the pages end in a seal over everything they returned, with the first page's exportedAt.
    let page = first;
    const items = [...first.items];
    while (page.cursor) {
      page = await again({ since, cursor: page.cursor });
      expect(page.exportedAt).toBe(first.exportedAt);
      items.push(...page.items);
    }
    expect(items).toHaveLength(6);
    expect(page.seal).toMatchObject({ exportedAt: first.exportedAt, since, items: 6, records: 6, tail: 6, head: null });
  });

  it('selects records by time and checkpoints wholly inside the range', async () => {
    const tableName = await newLedgerTable();
    const time = clock('2026-11-04T09:00:00.000Z');
    const store = new LedgerTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: time.now });
    const checkpoints = new CheckpointTable({ tableName, dynamo, signer: kmsLedgerSigner(kms, keyId), clock: time.now });
    await store.append('act_early', once(EVENT));
    time.set('2026-11-04T09:10:00.000Z');
    await checkpoints.run({ settleSeconds: 60, deadline: Number.MAX_SAFE_INTEGER }); // #1 until 09:09
    await store.append('act_late', once(EVENT));
    time.set('2026-11-04T09:20:00.000Z');
    await checkpoints.run({ settleSeconds: 60, deadline: Number.MAX_SAFE_INTEGER }); // #2 09:09 .. 09:19
    const page = await exportLedgerPage({ dynamo, tableName, since: '2026-11-04T09:09:00.000Z' });
    const names = page.items.map((i) => `${i.requestId}/${i.seq}`);
    expect(names.filter((n) => n.startsWith('act_'))).toEqual(['act_late/1']);
    expect(page.items.filter((i) => i.type === 'checkpoint').map((i) => i.seq)).toEqual([2]);
    const { lines } = await exportAll(tableName, {}, { clock: time.now, since: '2026-11-04T09:09:00.000Z' });
    expect(itemsOf(lines)).toEqual(page.items.map((i) => JSON.stringify(i)));
    const report = verifyLedgerLines(lines, createPublicKey(await kmsLedgerSigner(kms, keyId).publicKeyPem()));
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, sealed: true, window: { since: '2026-11-04T09:09:00.000Z' } });
  });
});

describe('exportLedgerPage over a window of hours', () => {
  it('reads the slot index, not the table: the items the window selects, exactly once however it pages, and they verify', async () => {
    const tableName = await newLedgerTable();
    const time = clock('2026-11-05T08:50:00.000Z');
    const signer = kmsLedgerSigner(kms, keyId);
    const store = new LedgerTable({ tableName, dynamo, signer, clock: time.now });
    const checkpoints = new CheckpointTable({ tableName, dynamo, signer, clock: time.now });
    const step = (type: string) => (chain: readonly unknown[]) => [{ type, actor: 'x', data: { pad: 'y'.repeat(200), n: chain.length } } as AuditEvent];
    await store.append('act_winA', once(EVENT)); // 08:50, before the window
    time.set('2026-11-05T09:10:00.000Z');
    await store.append('act_winA', (chain) => (chain.length === 1 ? step('policy_decided')(chain) : []));
    time.set('2026-11-05T09:30:00.000Z');
    await checkpoints.run({ settleSeconds: 60, deadline: Number.MAX_SAFE_INTEGER }); // #1 from the origin: not inside
    await store.append('act_winB', once(EVENT));
    time.set('2026-11-05T09:40:00.000Z');
    await store.append('act_winB', (chain) => (chain.length === 1 ? step('policy_decided')(chain) : []));
    time.set('2026-11-05T10:30:00.000Z');
    await store.append('act_winA', (chain) => (chain.length === 2 ? step('voted')(chain) : []));
    time.set('2026-11-05T10:45:00.000Z');
    await checkpoints.run({ settleSeconds: 60, deadline: Number.MAX_SAFE_INTEGER }); // #2 09:29..10:29, #3 ..10:44
    time.set('2026-11-05T11:45:00.000Z');
    await store.append('act_winC', once(EVENT)); // after the window
    const since = '2026-11-05T09:00:00.000Z';
    const until = '2026-11-05T11:00:00.000Z';

    // What the window selects, judged on the whole table: records by `at`, checkpoints and leaf pages wholly inside.
    const everything = (await exportLedgerPage({ dynamo, tableName })).items;
    const inside = (i: Record<string, unknown>) =>
      String(i.requestId).startsWith('checkpoint') ? String(i.from) >= since && String(i.until) <= until : String(i.at) >= since && String(i.at) <= until;
    const expected = everything.filter(inside).map((i) => JSON.stringify(i));
    expect(everything.filter(inside).filter((i) => String(i.requestId).startsWith('act_'))).toHaveLength(4);
    expect(
      everything
        .filter(inside)
        .filter((i) => i.type === 'checkpoint')
        .map((i) => i.seq),
    ).toEqual([2, 3]);

    const calls: string[] = [];
    const counting = { send: (command: { constructor: { name: string } }) => (calls.push(command.constructor.name), dynamo.send(command as never)) };
    const page = await exportLedgerPage({ dynamo: counting as unknown as DynamoDBDocumentClient, tableName, since, until });
    expect(calls).not.toContain('ScanCommand');
    expect(page.next).toBeUndefined();
    expect(page.items.map((i) => JSON.stringify(i)).sort()).toEqual([...expected].sort());
    // Records first, by time; then each checkpoint followed by its leaf pages.
    expect(page.items.map((i) => `${i.requestId}/${i.seq}`).slice(0, 4)).toEqual(['act_winA/2', 'act_winB/1', 'act_winB/2', 'act_winA/3']);

    for (const limits of [{}, { maxBytes: 600 }, { maxMillis: 0, scanLimit: 1 }]) {
      const lines: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const sealed = await exportPage(tableName, { since, until, cursor }, limits, time.now);
        if (pages === 0) lines.push(JSON.stringify({ type: 'export', format: 2, exportedAt: sealed.exportedAt, since, until }));
        pages += 1;
        lines.push(...sealed.items.map((i) => JSON.stringify(i)));
        cursor = sealed.cursor ?? undefined;
        if (!cursor) lines.push(JSON.stringify(sealed.seal));
      } while (cursor);
      expect(itemsOf(lines), JSON.stringify(limits)).toEqual(page.items.map((i) => JSON.stringify(i)));
      if (Object.keys(limits).length > 0) expect(pages, JSON.stringify(limits)).toBeGreaterThan(3);
      expect(sealOf(lines)).toMatchObject({ since, until, items: expected.length, records: 4, checkpoints: 2 });
      const report = verifyLedgerLines(lines, createPublicKey(await signer.publicKeyPem()));
      expect(report.findings, JSON.stringify(limits)).toEqual([]);
    }
  });
});
