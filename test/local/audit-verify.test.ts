/**
 * The auditor's path end to end in local mode: checkpoints written by the scheduled checkpointer, `countersign audit
 * export` through GET /v1/audit/export, `countersign audit verify` offline on the file and live against the API,
 * and tampering with both the exported file and the local DynamoDB store, each detected and named.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../fixtures/cli';
import { api, checkpointNow as harnessCheckpointNow, type RunningCountersign, startCountersign } from './harness';

let countersign: RunningCountersign;
let dataDir: string;
let work: string;
let dynamo: DynamoDBClient;
let ledgerTable: string;
const ids: Record<string, string> = {};

/** `countersign …` as the auditor against local mode, in this process (the CLI's main with its own streams). */
const cli = (args: string[], env: Record<string, string> = {}) =>
  runCliInProcess(args, { env: { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: 'audit-key', ...env } });

const ask = async (body: object, key = 'demo-agent-key') => {
  const res = await api(countersign.url, 'POST', '/v1/actions', key, body);
  expect([200, 202]).toContain(res.status);
  return res.body.id as string;
};

const checkpointNow = () => harnessCheckpointNow(countersign.url);

const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');
const parsed = (file: string) => lines(file).map((l) => JSON.parse(l) as Record<string, any>);
const writeLines = (name: string, values: unknown[]) => {
  const file = join(work, name);
  writeFileSync(file, `${values.map((v) => JSON.stringify(v)).join('\n')}\n`);
  return file;
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cs-audit-verify-'));
  work = mkdtempSync(join(tmpdir(), 'cs-audit-files-'));
  countersign = await startCountersign({ dataDir });
  ids.allowed = await ask({ action: 'reports.read', resource: 'warehouse' });
  ids.denied = await ask({ action: 'db.drop_table', environment: 'production' });
  ids.approved = await ask({ action: 'data.export', environment: 'production', justification: 'Quarterly churn' });
  for (const key of ['alice-key', 'bob-key']) {
    expect((await api(countersign.url, 'POST', `/v1/actions/${ids.approved}/decision`, key, { decision: 'approve', reason: 'ok' })).status).toBe(200);
  }
  ids.cancelled = await ask({ action: 'infra.apply', resource: 'vpc' });
  expect((await api(countersign.url, 'POST', `/v1/actions/${ids.cancelled}/cancel`, 'demo-agent-key')).status).toBe(200);
  await checkpointNow();
  dynamo = new DynamoDBClient({
    endpoint: countersign.endpoints.dynamodb,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const { TableNames } = await dynamo.send(new ListTablesCommand({}));
  ledgerTable = TableNames!.find((t) => t.includes('Ledger'))!;
}, 120_000);

afterAll(async () => {
  dynamo?.destroy();
  await countersign?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('audit export and verify', () => {
  let exported: string;
  let publicKey: string;

  beforeAll(async () => {
    exported = join(work, 'ledger.jsonl');
    const result = await cli(['audit', 'export', '--out', exported]);
    expect(result.code, result.stderr).toBe(0);
    publicKey = join(work, 'ledger.pem');
    writeFileSync(publicKey, await (await fetch(`${countersign.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer audit-key' } })).text());
  }, 60_000);

  it('exports every record and the checkpoint that covers them, after a header and before the seal', () => {
    const items = parsed(exported);
    expect(items[0]).toMatchObject({ type: 'export', format: 2, source: countersign.url });
    const seal = items.pop()!;
    expect(seal).toMatchObject({ type: 'export_seal', format: 2, exportedAt: items[0]!.exportedAt, items: items.length - 1 });
    const records = items.filter((i) => i.requestId?.startsWith('act_'));
    expect(new Set(records.map((r) => r.requestId))).toEqual(new Set(Object.values(ids)));
    const checkpoints = items.filter((i) => i.type === 'checkpoint');
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    expect(checkpoints.at(-1)!.total).toBe(records.length);
    // The slot-index attributes are storage details, not part of what was signed.
    expect(records.every((r) => !('slot' in r) && !('rk' in r))).toBe(true);
  });

  it('verifies a clean export offline, and live against the API', async () => {
    const offline = await cli(['audit', 'verify', '--file', exported, '--public-key', publicKey], { COUNTERSIGN_URL: 'http://127.0.0.1:9' });
    expect(offline.code, offline.stdout + offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/ledger: OK: \d+ records in 4 requests/);
    const live = await cli(['audit', 'verify', '--json']);
    expect(live.code, live.stdout + live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ ok: true, requests: 4, findings: [] });
  });

  it('names each kind of damage to an exported copy', async () => {
    const items = parsed(exported);
    const recordsOf = (id: string) => items.filter((i) => i.requestId === id);
    const at = (id: string, seq: number) => items.findIndex((i) => i.requestId === id && i.seq === seq);
    const cases: Array<[string, unknown[], RegExp]> = [];

    const edited = structuredClone(items);
    edited[at(ids.approved!, 1)]!.data.justification = 'Nothing to see';
    cases.push(['edit a field', edited, new RegExp(`EDITED +${ids.approved} seq 1`)]);

    const swapped = structuredClone(items);
    const [two, three] = [at(ids.approved!, 2), at(ids.approved!, 3)];
    [swapped[two], swapped[three]] = [swapped[three]!, swapped[two]!];
    cases.push(['swap two records', swapped, new RegExp(`REORDERED +${ids.approved} seq 2`)]);

    cases.push(['drop one record', items.filter((_, i) => i !== at(ids.approved!, 3)), new RegExp(`MISSING +${ids.approved} seq 3`)]);
    cases.push([
      'drop a whole request',
      items.filter((i) => i.requestId !== ids.denied),
      new RegExp(`DELETED_REQUEST +${ids.denied}: the whole request is gone`),
    ]);

    const newest = recordsOf(ids.cancelled!).at(-1)!;
    cases.push(['cut the newest records', items.filter((i) => i !== newest), new RegExp(`TRUNCATED +${ids.cancelled} seq ${newest.seq}`)]);

    const resigned = structuredClone(items);
    resigned[at(ids.allowed!, 2)]!.signature = items[at(ids.allowed!, 1)]!.signature;
    cases.push(['replace a signature', resigned, new RegExp(`BAD_SIGNATURE +${ids.allowed} seq 2`)]);

    const forged = structuredClone(items);
    const checkpoint = forged.find((i) => i.type === 'checkpoint')!;
    checkpoint.count -= 1;
    checkpoint.total -= 1;
    cases.push(['forge a checkpoint', forged, new RegExp(`CHECKPOINT_FORGED +checkpoint ${checkpoint.seq}`)]);

    for (const [name, copy, finding] of cases) {
      const result = await cli(['audit', 'verify', '--file', writeLines(`${name}.jsonl`, copy), '--public-key', publicKey]);
      expect(result.code, `${name}: ${result.stdout}${result.stderr}`).toBe(1);
      expect(result.stdout, name).toMatch(finding);
      expect(result.stdout, name).toMatch(/ledger: FAILED/);
    }
  }, 120_000);
});

describe('tampering with the local store, verified live', () => {
  const key = (requestId: string, seq: number) => ({ requestId, seq });
  const doc = () => DynamoDBDocumentClient.from(dynamo);

  it('names an edited record, a deleted request and a forged checkpoint', async () => {
    await doc().send(
      new UpdateCommand({
        TableName: ledgerTable,
        Key: key(ids.approved!, 1),
        UpdateExpression: 'SET #a = :a',
        ExpressionAttributeNames: { '#a': 'actor' },
        ExpressionAttributeValues: { ':a': 'someone-else' },
      }),
    );
    let result = await cli(['audit', 'verify']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`EDITED +${ids.approved} seq 1`));

    const { stdout } = await cli(['audit', 'export']);
    const denied = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((i) => i.requestId === ids.denied);
    for (const record of denied) await doc().send(new DeleteCommand({ TableName: ledgerTable, Key: key(ids.denied!, record.seq) }));
    result = await cli(['audit', 'verify', '--json']);
    const report = JSON.parse(result.stdout);
    expect(result.code).toBe(1);
    expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'deleted_request', requestId: ids.denied, seqs: denied.map((r) => r.seq) }));

    const checkpoint = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((i) => i.type === 'checkpoint');
    await doc().send(
      new PutCommand({ TableName: ledgerTable, Item: { ...checkpoint, count: checkpoint.count - denied.length, total: checkpoint.total - denied.length } }),
    );
    result = await cli(['audit', 'verify', '--json']);
    expect(JSON.parse(result.stdout).findings).toContainEqual(expect.objectContaining({ kind: 'checkpoint_forged', checkpoint: checkpoint.seq }));
  }, 60_000);

  it('keeps the export to auditors and refuses a forged cursor', async () => {
    const agent = await cli(['audit', 'export'], { COUNTERSIGN_API_KEY: 'demo-agent-key' });
    expect(agent.code).toBe(3);
    expect(agent.stderr).toMatch(/forbidden/);
    const bad = await api(countersign.url, 'GET', '/v1/audit/export?cursor=eyJub3QiOiJvdXJzIn0', 'audit-key');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    const unknown = await api(countersign.url, 'GET', '/v1/audit/export?format=csv', 'audit-key');
    expect(unknown.status).toBe(400);
  });
});
