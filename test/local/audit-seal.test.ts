/**
 * The export's seal end to end in local mode: `countersign audit export` writes the seal GET /v1/audit/export
 * answers on its last page, and `countersign audit verify --file` (with and without `--public-key`) refuses every
 * edit to the file an exporter could make to hide something: the header moved or its window changed, the newest or
 * oldest record cut, the newest checkpoint cut, a window cut from the middle, the seal dropped, edited or swapped,
 * lines appended after it. Untouched full and windowed exports pass, a windowed one reported as partial.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../fixtures/cli';
import { api, checkpointNow as harnessCheckpointNow, type RunningCountersign, startCountersign } from './harness';

let countersign: RunningCountersign;
let dataDir: string;
let work: string;
let publicKey: string;
/** Between the first checkpoint and the second batch of requests. */
let windowStart: string;
let windowEnd: string;
const files: Record<string, string> = {};

/** `countersign …` as the auditor against local mode, in this process (the CLI's main with its own streams). */
const cli = (args: string[], env: Record<string, string> = {}) =>
  runCliInProcess(args, { env: { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: 'audit-key', ...env } });

const ask = async (body: object) => {
  const res = await api(countersign.url, 'POST', '/v1/actions', 'demo-agent-key', body);
  expect([200, 202]).toContain(res.status);
  return res.body.id as string;
};

const checkpointNow = () => harnessCheckpointNow(countersign.url);

const linesOf = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');
const write = (name: string, lines: string[]) => {
  const file = join(work, `${name.replace(/\W+/g, '-')}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
};
const edit = (line: string, change: (value: Record<string, any>) => void) => {
  const value = JSON.parse(line) as Record<string, any>;
  change(value);
  return JSON.stringify(value);
};
const typeOf = (line: string) => JSON.parse(line) as { type?: string; requestId?: string };
const isRecord = (line: string) => typeOf(line).requestId?.startsWith('act_') === true;

/** Verifies a file offline with the key file, and with the key from the API; both runs must agree. */
async function verifyBoth(file: string): Promise<Array<{ code: number; stdout: string; stderr: string }>> {
  return [
    await cli(['audit', 'verify', '--file', file, '--public-key', publicKey], { COUNTERSIGN_URL: 'http://127.0.0.1:9' }),
    await cli(['audit', 'verify', '--file', file]),
  ];
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cs-audit-seal-'));
  work = mkdtempSync(join(tmpdir(), 'cs-audit-seal-files-'));
  countersign = await startCountersign({ dataDir });
  await ask({ action: 'reports.read', resource: 'warehouse' });
  await ask({ action: 'db.drop_table', environment: 'production' });
  await checkpointNow();
  windowStart = new Date().toISOString();
  await ask({ action: 'reports.read', resource: 'lake' });
  await checkpointNow();
  // Newer than every checkpoint: covered only by the seal's count of records after the newest checkpoint.
  await ask({ action: 'reports.read', resource: 'newest' });
  windowEnd = new Date().toISOString();
  publicKey = join(work, 'ledger.pem');
  writeFileSync(publicKey, await (await fetch(`${countersign.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer audit-key' } })).text());
  files.full = join(work, 'full.jsonl');
  files.window = join(work, 'window.jsonl');
  files.since = join(work, 'since.jsonl');
  for (const [file, args] of [
    [files.full, []],
    [files.window, ['--since', windowStart, '--until', windowEnd]],
    [files.since, ['--since', windowStart]],
  ] as const) {
    const result = await cli(['audit', 'export', '--out', file, ...args]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/, sealed\n/);
  }
  // A later export of the same ledger, with one more request: its seal is genuine, but not the first export's.
  await ask({ action: 'reports.read', resource: 'later' });
  files.later = join(work, 'later.jsonl');
  expect((await cli(['audit', 'export', '--out', files.later])).code).toBe(0);
}, 180_000);

afterAll(async () => {
  await countersign?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('a sealed export', () => {
  it('ends with the seal the API answered on its last page, over every item and the ledger head', () => {
    const lines = linesOf(files.full!).map((l) => JSON.parse(l) as Record<string, any>);
    const [header, seal] = [lines[0]!, lines.at(-1)!];
    const items = lines.slice(1, -1);
    const checkpoints = items.filter((i) => i.type === 'checkpoint');
    expect(seal).toMatchObject({
      type: 'export_seal',
      format: 2,
      exportedAt: header.exportedAt,
      items: items.length,
      records: items.filter((i) => i.requestId.startsWith('act_')).length,
      checkpoints: checkpoints.length,
      head: { checkpoint: checkpoints.at(-1)!.seq, hash: checkpoints.at(-1)!.hash },
    });
    // The request asked after the second checkpoint: its records are counted after the head.
    expect(seal.tail).toBeGreaterThanOrEqual(1);
    expect(seal.since).toBeUndefined();
  });

  it('passes untouched, full and windowed; a windowed one is reported as a partial export with its window', async () => {
    for (const result of await verifyBoth(files.full!)) {
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/ledger: OK: \d+ records in 4 requests, 2 checkpoints; .* \(sealed export of 20/);
      expect(result.stdout).not.toMatch(/partial/);
    }
    for (const result of await verifyBoth(files.window!)) {
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain(`partial export: judged the window since ${windowStart} until ${windowEnd}`);
      expect(result.stdout).toMatch(/ledger: OK: \d+ records in 2 requests, .*\(partial export\)/);
    }
    const since = await cli(['audit', 'verify', '--file', files.since!, '--public-key', publicKey, '--json']);
    expect(since.code, since.stdout).toBe(0);
    expect(JSON.parse(since.stdout)).toMatchObject({ ok: true, sealed: true, window: { since: windowStart } });
    expect(JSON.parse(since.stdout).window.until).toBeUndefined();
  }, 120_000);

  it('refuses every edit that would hide a cut, naming what was done', async () => {
    const full = linesOf(files.full!);
    const windowed = linesOf(files.window!);
    // Record lines by time, oldest first (the file holds them in the table's scan order).
    const records = full
      .map((l, i) => [l, i] as const)
      .filter(([l]) => isRecord(l))
      .sort(([a], [b]) => (JSON.parse(a).at < JSON.parse(b).at ? -1 : 1))
      .map(([, i]) => i);
    const middle = new Set(records.slice(1, 4));
    const checkpoints = full
      .map((l, i) => [l, i] as const)
      .filter(([l]) => typeOf(l).type === 'checkpoint')
      .map(([, i]) => i);
    const exportedAt = JSON.parse(full[0]!).exportedAt as string;
    const earlier = new Date(Date.parse(windowStart) - 1000).toISOString();
    const old = full.slice(0, -1);
    old[0] = edit(old[0]!, (h) => (h.format = 1));
    const cases: Array<[string, string[], RegExp]> = [
      [
        'exportedAt moved back',
        [edit(full[0]!, (h) => (h.exportedAt = earlier)), ...full.slice(1)],
        /HEADER_EDITED +the header says exportedAt .*, but the seal signed/,
      ],
      ['until added', [edit(full[0]!, (h) => (h.until = earlier)), ...full.slice(1)], /HEADER_EDITED +the header says until .*, but the seal signed \(none\)/],
      [
        'since added',
        [edit(full[0]!, (h) => (h.since = windowStart)), ...full.slice(1)],
        /HEADER_EDITED +the header says since .*, but the seal signed \(none\)/,
      ],
      [
        'window removed',
        [edit(windowed[0]!, (h) => (delete h.since, delete h.until)), ...windowed.slice(1)],
        /HEADER_EDITED +the header says since \(none\), but the seal signed/,
      ],
      [
        'newest record cut',
        full.filter((_, i) => i !== records.at(-1)),
        /NOT_AS_SEALED +the seal counts \d+ records newer than checkpoint 2 .*; the file holds \d+: 1 cut/,
      ],
      ['oldest record cut', full.filter((_, i) => i !== records[0]), /NOT_AS_SEALED +the seal counts \d+ records; the file holds \d+: 1 cut/],
      ['newest checkpoint cut', full.filter((_, i) => i !== checkpoints.at(-1)), /NOT_AS_SEALED +the seal names checkpoint 2 .* the file does not hold it/],
      ['middle window cut', full.filter((_, i) => !middle.has(i)), /NOT_AS_SEALED +the seal counts \d+ records; the file holds \d+: 3 cut/],
      ['seal dropped', full.slice(0, -1), /UNSEALED +the export is unsealed: it has no seal line/],
      ['an older unsealed format', old, /UNSEALED +the export is unsealed \(format 1.*re-export it/],
      ['seal edited', [...full.slice(0, -1), edit(full.at(-1)!, (s) => (s.exportedAt = earlier))], /SEAL_FORGED +the export's seal was edited/],
      ['seal from another export', [...full.slice(0, -1), linesOf(files.later!).at(-1)!], /HEADER_EDITED +the header says exportedAt .*, but the seal signed/],
      [
        'seal and header from another export',
        [linesOf(files.later!)[0]!, ...full.slice(1, -1), linesOf(files.later!).at(-1)!],
        /NOT_AS_SEALED +the seal counts \d+ records; the file holds \d+: \d+ cut/,
      ],
      [
        'records appended after the seal',
        [...full, full[records.at(-1)!]!, full[records[0]!]!],
        new RegExp(`NOT_AS_SEALED +line ${full.length + 1} comes after the export's seal`),
      ],
      [
        'windowed: oldest record cut',
        windowed.filter((_, i) => i !== windowed.findIndex(isRecord)),
        /NOT_AS_SEALED +the seal counts \d+ records; the file holds \d+: 1 cut/,
      ],
    ];
    expect(exportedAt > earlier).toBe(true);
    for (const [name, lines, finding] of cases) {
      const file = write(name, lines);
      for (const result of await verifyBoth(file)) {
        expect(result.code, `${name}: ${result.stdout}${result.stderr}`).toBe(1);
        expect(result.stdout, name).toMatch(finding);
        expect(result.stdout, name).toMatch(/ledger: FAILED/);
      }
    }
  }, 300_000);

  it('answers the seal on the last page, and refuses a cursor the ledger key did not sign', async () => {
    const first = await api(countersign.url, 'GET', '/v1/audit/export', 'audit-key');
    expect(first.status).toBe(200);
    expect(first.body.seal).toMatchObject({ type: 'export_seal', exportedAt: first.body.exportedAt });
    expect(first.body.cursor).toBeNull();
    const forged = `${Buffer.from(JSON.stringify({ position: { requestId: 'act_x', seq: 1 }, progress: first.body.seal })).toString('base64url')}.${Buffer.from(first.body.seal.signature, 'base64').toString('base64url')}`;
    const refused = await api(countersign.url, 'GET', `/v1/audit/export?cursor=${forged}`, 'audit-key');
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/not one this API issued/);
  });
});
