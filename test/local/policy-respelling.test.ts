/**
 * Respellings against local mode (POST /v1/actions), end to end: every spelling of a value a stricter rule names is
 * denied, held for approval or refused with 400 naming the field, never allowed with a receipt by the weaker rule
 * below it; and a refused request records nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { api, type RunningCountersign, startCountersign } from './harness';

const AGENT = 'agent-key';

const config = {
  version: 1,
  groups: { 'data-owners': { members: [{ id: 'alice@example.com', email: 'alice@example.com' }] } },
  rules: [
    {
      name: 'no-prod-drops',
      match: { action: 'db.drop*', environment: 'production' },
      effect: 'deny',
      reason: 'Dropping production databases is never automated.',
    },
    { name: 'prod-buckets', match: { action: 's3.*', resource: 'arn:aws:s3:::prod-*' }, effect: 'deny' },
    {
      name: 'big-exports',
      match: { action: 'data.export', parameters: { rows: { gt: 10000 }, format: { in: ['csv', 'parquet'] } } },
      effect: 'require_approval',
      approvers: ['data-owners'],
    },
    { name: 'prod-db-writes', match: { action: 'db.write', parameters: { 'db.host': { glob: 'prod-*' }, dryRun: { not: true } } }, effect: 'deny' },
    {
      name: 'analysts',
      match: { action: 'report.run', agent: { name: 'analyst-*' }, onBehalfOf: '*@example.com' },
      effect: 'require_approval',
      approvers: ['data-owners'],
    },
    { name: 'everything-else', match: {}, effect: 'allow' },
  ],
  default: { effect: 'deny' },
  auditors: ['audit@example.com'],
  channels: { email: { from: 'countersign@example.com' } },
  local: { apiKeys: { [AGENT]: 'arn:aws:iam::000000000000:role/agent', 'audit-key': 'audit@example.com' } },
};

describe('respellings against local mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-respell-'));
  let cs: RunningCountersign;

  beforeAll(async () => {
    const configFile = join(dir, 'countersign.yaml');
    writeFileSync(configFile, stringify(config));
    cs = await startCountersign({ dataDir: join(dir, 'data'), configFile });
  });
  afterAll(async () => {
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown) => api(cs.url, 'POST', '/v1/actions', AGENT, body);

  /** How many requests the ledger holds, through the auditors' export. */
  async function requestCount(): Promise<number> {
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ requestId: string }>; cursor: string | null } } = await api(
        cs.url,
        'GET',
        `/v1/audit/export${cursor ? `?cursor=${cursor}` : ''}`,
        'audit-key',
      );
      for (const item of page.body.items) if (item.requestId.startsWith('act_')) ids.add(item.requestId);
      cursor = page.body.cursor;
    } while (cursor);
    return ids.size;
  }

  it('still allows, with a receipt, what no stricter rule names (the weaker rule is reachable)', async () => {
    const answer = await post({ action: 'db.drop_table', environment: 'staging' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'approved', rule: 'everything-else', receipt: expect.any(String) });
  });

  it.each([
    ['environment Production', { action: 'db.drop_table', environment: 'Production' }],
    ['environment with a trailing space', { action: 'db.drop_table', environment: 'production ' }],
    ['environment in full-width letters', { action: 'db.drop_table', environment: 'ＰＲＯＤＵＣＴＩＯＮ' }],
    ['environment in mathematical bold', { action: 'db.drop_table', environment: '𝐩𝐫𝐨𝐝𝐮𝐜𝐭𝐢𝐨𝐧' }],
    ['environment padded with no-break and ideographic spaces', { action: 'db.drop_table', environment: '\u00A0production\u3000' }],
    ['resource in capitals', { action: 's3.delete_object', resource: 'ARN:AWS:S3:::PROD-logs' }],
    ['resource in full-width', { action: 's3.delete_object', resource: 'arn:aws:s3:::ｐｒｏｄ-logs' }],
    ['db.host in capitals under a one-element list', { action: 'db.write', parameters: { DB: [{ Host: 'PROD-main' }] } }],
    ['db.host as one dotted key', { action: 'db.write', parameters: { 'db.host': 'prod-main', dryRun: 'false' } }],
    ['db.host with an invisible character', { action: 'db.write', parameters: { db: { host: 'prod\u200B-main' } } }],
  ])('%s is denied', async (_, body) => {
    const answer = await post(body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ status: 'denied' });
    expect(answer.body.receipt).toBeUndefined();
    expect(answer.body.rule).not.toBe('everything-else');
  });

  it.each([
    ['rows as text', { rows: '50000', format: 'csv' }],
    ['rows in a one-element list', { rows: [50000], format: 'csv' }],
    ['format in capitals', { rows: 50000, format: 'CSV' }],
    ['rows in exponent form, padded', { rows: ' 5E4 ', format: 'Parquet' }],
    ['rows signed, format full-width', { rows: '+50000', format: 'ｃｓｖ' }],
    ['rows with a decimal point, format with an invisible character', { rows: '50000.0', format: 'c\u200Bsv' }],
    ['rows in full-width digits, wrapped twice', { rows: [['５００００']], format: ' csv ' }],
    ['keys respelled', { ROWS: 50000, 'format\u200B': 'csv' }],
    ['keys in full-width', { ｒｏｗｓ: 50000, ' Format ': 'csv' }],
  ])('an export with %s is held for approval', async (_, parameters) => {
    const answer = await post({ action: 'data.export', parameters });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body).toMatchObject({ status: 'pending', rule: 'big-exports' });
  });

  it('an analyst acting for someone spelled in capitals and full-width is held for approval', async () => {
    const answer = await post({ action: 'report.run', agent: { name: 'ANALYST-bot' }, onBehalfOf: 'Carol＠Example.COM' });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'pending', rule: 'analysts' });
  });

  it.each([
    ['rows as words', { rows: 'lots', format: 'csv' }, ['parameters.rows']],
    ['rows with a thousands separator', { rows: '50,000', format: 'csv' }, ['parameters.rows']],
    ['rows in hex', { rows: '0xC350', format: 'csv' }, ['parameters.rows']],
    ['rows as Infinity', { rows: 'Infinity', format: 'csv' }, ['parameters.rows']],
    ['rows in a list of two', { rows: [1, 50000], format: 'csv' }, ['parameters.rows']],
    ['rows in an object', { rows: { value: 50000 }, format: 'csv' }, ['parameters.rows']],
    ['rows null', { rows: null, format: 'csv' }, ['parameters.rows']],
    ['rows as a boolean', { rows: true, format: 'csv' }, ['parameters.rows']],
    ['format as two values', { rows: 50000, format: ['csv', 'json'] }, ['parameters.format']],
    ['rows twice, spelled differently', { rows: 1, Rows: 50000, format: 'csv' }, ['parameters.rows']],
  ])('an export with %s is refused with 400 naming the parameter, and records nothing', async (_, parameters, paths) => {
    const before = await requestCount();
    const answer = await post({ action: 'data.export', parameters });
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(answer.body.error.details.map((d: { path: string }) => d.path)).toEqual(paths);
    expect(answer.body.error.message).toContain('rule big-exports');
    expect(await requestCount()).toBe(before);
  });

  it('says what the rule needs', async () => {
    const answer = await post({ action: 'data.export', parameters: { rows: 'lots', format: ['csv', 'json'] } });
    expect(answer.body.error.details).toEqual([
      { path: 'parameters.rows', message: 'policy compares this to a number: send a number' },
      { path: 'parameters.format', message: 'policy compares this to one value: send a single string, number or boolean' },
    ]);
  });

  it.each([
    ['environment', { action: 'db.drop_table', environment: 'produc\u200Btion' }],
    ['environment', { action: 'db.drop_table', environment: 'prod\u00ADuction' }],
    ['environment', { action: 'db.drop_table', environment: '\u202Eproduction' }],
    ['resource', { action: 's3.delete_object', resource: 'arn:aws:s3:::prod\u2060-logs' }],
    ['onBehalfOf', { action: 'report.run', agent: { name: 'analyst-bot' }, onBehalfOf: 'carol@example.com\uFEFF' }],
    ['agent.name', { action: 'report.run', agent: { name: 'analyst\u200D-bot' }, onBehalfOf: 'carol@example.com' }],
  ])('hidden characters in %s are refused with 400 naming it, before policy', async (field, body) => {
    const before = await requestCount();
    const answer = await post(body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_request', details: [{ path: field, message: expect.stringContaining('hidden character') }] });
    expect(await requestCount()).toBe(before);
  });
});
