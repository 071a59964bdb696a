/**
 * The auditor's console pages through local mode's HTTP gateway, with a script's `Authorization: Bearer <key>`:
 * only auditors reach them; the search finds requests by respelled people and values; verify from the page judges
 * the real ledger; the download is the sealed export file `countersign audit verify --file` accepts.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportHeaderSchema, verifyLedgerLines } from '../../lambdas/core/ledger-verify';
import { runCliInProcess } from '../fixtures/cli';
import { api, checkpointNow, type RunningCountersign, startCountersign } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'cs-console-auditor-'));
let cs: RunningCountersign;
const ids: Record<'export' | 'infra' | 'restart', string> = { export: '', infra: '', restart: '' };

/** A console page as a script reads it. */
async function page(path: string, key: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${cs.url}${path}`, { ...init, redirect: 'manual', headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** The ids of the result rows of an audit page. */
const resultIds = (html: string) => [...html.matchAll(/data-testid="result" data-request-id="([^"]+)"/g)].map((m) => m[1]!);
const mine = (html: string) => resultIds(html).filter((id) => Object.values(ids).includes(id));
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
const decide = (id: string, key: string, decision: 'approve' | 'deny') => api(cs.url, 'POST', `/v1/actions/${id}/decision`, key, { decision });

beforeAll(async () => {
  cs = await startCountersign({ dataDir: join(dir, 'data') });
  // Two approvals (prod-exports): alice and bob approve.
  const exported = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', {
    action: 'data.export',
    environment: 'production',
    resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
    justification: '</script><script>window.__pwned=1</script>',
  });
  expect(exported.body).toMatchObject({ status: 'pending', rule: 'prod-exports' });
  ids.export = exported.body.id;
  expect((await decide(ids.export, 'alice-key', 'approve')).status).toBe(200);
  expect((await decide(ids.export, 'bob-key', 'approve')).body).toMatchObject({ status: 'approved' });
  // infra-changes: dave denies.
  const infra = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', { action: 'infra.deploy' });
  ids.infra = infra.body.id;
  expect((await decide(ids.infra, 'dave-key', 'deny')).body).toMatchObject({ status: 'denied' });
  // Alice asks herself; dave approves.
  const restart = await api(cs.url, 'POST', '/v1/actions', 'alice-key', { action: 'infra.restart' });
  ids.restart = restart.body.id;
  expect((await decide(ids.restart, 'dave-key', 'approve')).body).toMatchObject({ status: 'approved' });
  await checkpointNow(cs.url);
});

afterAll(async () => {
  await cs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the auditor's console pages", () => {
  it.each([
    ['GET', '/console/audit'],
    ['GET', '/console/ledger'],
    ['GET', '/console/ledger/export'],
    ['POST', '/console/ledger/verify'],
  ])('refuse %s %s to anyone but an auditor with a 403 page', async (method, path) => {
    for (const key of ['alice-key', 'demo-agent-key']) {
      const res = await page(path, key, method === 'POST' ? { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=x' } : {});
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.body).toContain('only auditors may see this page');
      expect(res.body).not.toContain('countersign-ledger-');
    }
  });

  it('finds requests by a respelled requester, approver, rule and action', async () => {
    const search = async (query: string) => {
      const res = await page(`/console/audit?${query}`, 'audit-key');
      expect(res.status).toBe(200);
      return mine(res.body);
    };
    expect((await search('')).sort()).toEqual(Object.values(ids).sort());
    expect(await search('requester=ALICE%40Example.com')).toEqual([ids.restart]);
    expect((await search('approver=Dave%40EXAMPLE.com')).sort()).toEqual([ids.infra, ids.restart].sort());
    expect(await search('approver=%20bob%40example.com%20&action=DATA.EXPORT')).toEqual([ids.export]);
    expect(await search('rule=%EF%BD%90rod-exports')).toEqual([ids.export]); // a full-width p
    expect(await search('action=infra.*&status=denied')).toEqual([ids.infra]);
    expect(await search('approver=mallory%40example.com')).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect(await search('from=2020-01-01&to=2020-01-31')).toEqual([]);
    expect((await search(`from=${today}&to=${today}`)).sort()).toEqual(Object.values(ids).sort());
  });

  it('links each result to its request page, escapes what the agent wrote, and draws charts only from its own assets', async () => {
    const res = await page(`/console/audit?action=data.export`, 'audit-key');
    expect(res.body).toContain(`href="/console/requests/${ids.export}"`);
    expect(res.body).not.toContain('<script>window.__pwned');
    // The charts' scripts are the console's own; the data is JSON blocks, the only inline script the page script.
    expect(res.body).toContain('<script src="/console/assets/chart.umd.min.js"></script>');
    expect(res.body).toContain('<script src="/console/assets/console-charts.js"></script>');
    for (const id of ['requests-per-day', 'time-to-decision', 'decisions-per-approver', 'expiries-reminders']) {
      expect(res.body).toContain(`data-testid="chart-${id}"`);
    }
    const scripts = [...res.body.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim());
    expect(scripts.filter((attrs) => attrs === '')).toHaveLength(1);
    expect(scripts.every((attrs) => attrs === '' || attrs.startsWith('src="/console/assets/') || attrs.startsWith('type="application/json"'))).toBe(true);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[^']+';/);
  });

  it('answers bad dates with a 400 page that keeps the form and reads nothing', async () => {
    const res = await page('/console/audit?from=2026-02-30&to=%3Cb%3E', 'audit-key');
    expect(res.status).toBe(400);
    expect(res.body).toContain('from: not a date');
    expect(res.body).toContain('to: not a date');
    expect(res.body).toContain('value="&lt;b&gt;"');
    expect(res.body).not.toContain('data-testid="results"');
    const reversed = await page('/console/audit?from=2026-11-20&to=2026-11-10', 'audit-key');
    expect(reversed.status).toBe(400);
    expect(reversed.body).toContain('is after to');
  });

  it('shows the newest checkpoint as current', async () => {
    const res = await page('/console/ledger', 'audit-key');
    expect(res.status).toBe(200);
    expect(res.body).toContain('data-testid="checkpoint-fresh"');
    expect(res.body).toMatch(/data-testid="checkpoint-seq">#\d+</);
    expect(res.body).toContain('action="/console/ledger/verify"');
    expect(res.body).toContain('action="/console/ledger/export"');
  });

  it('verifies the whole ledger from the page, and refuses a verify without the form’s token', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const csrf = csrfOf((await page('/console/ledger', 'audit-key')).body);
    for (const body of ['', 'csrf=', `csrf=${csrf.slice(0, -2)}xx`]) {
      const refused = await page('/console/ledger/verify', 'audit-key', { method: 'POST', headers: form, body });
      expect(refused.status).toBe(403);
      expect(refused.body).not.toContain('data-testid="verify-report"');
    }
    const otherSite = await page('/console/ledger/verify', 'audit-key', {
      method: 'POST',
      headers: { ...form, 'sec-fetch-site': 'cross-site' },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(otherSite.status).toBe(403);
    const res = await page('/console/ledger/verify', 'audit-key', { method: 'POST', headers: form, body: `csrf=${encodeURIComponent(csrf)}` });
    expect(res.status).toBe(200);
    expect(res.body).toContain('data-testid="verify-ok"');
    const records = Number(/data-testid="report-records">(\d+)</.exec(res.body)![1]);
    expect(records).toBeGreaterThanOrEqual(12);
    expect(Number(/data-testid="report-checkpoints">(\d+)</.exec(res.body)![1])).toBeGreaterThanOrEqual(1);
    expect(Number(/data-testid="report-requests">(\d+)</.exec(res.body)![1])).toBe(3);
  });

  it('downloads the sealed export that verifies, line for line as `countersign audit export` writes it', async () => {
    const res = await page('/console/ledger/export', 'audit-key');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="countersign-ledger-[0-9T-]+Z\.jsonl"$/);
    expect(res.body.endsWith('\n')).toBe(true);
    const lines = res.body.split('\n');
    const pem = await (await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer audit-key' } })).text();
    const report = verifyLedgerLines(lines, createPublicKey(pem));
    expect(report).toMatchObject({ ok: true, sealed: true, requests: 3, findings: [] });
    expect(report.window).toBeUndefined();
    const header = exportHeaderSchema.parse(JSON.parse(lines[0]!));
    expect(header.source).toBe(`${cs.url}/console`);
    expect(JSON.parse(lines.at(-2)!)).toMatchObject({ type: 'export_seal' });

    // The CLI accepts the file as its own.
    const file = join(dir, 'console-export.jsonl');
    writeFileSync(file, res.body);
    const env = { COUNTERSIGN_URL: cs.url, COUNTERSIGN_API_KEY: 'audit-key' };
    const verified = await runCliInProcess(['audit', 'verify', '--file', file, '--json'], { env });
    expect([verified.code, JSON.parse(verified.stdout).ok]).toEqual([0, true]);
    // The CLI's own export of the same ledger: the same header fields, and every record line the same bytes.
    const cliFile = join(dir, 'cli-export.jsonl');
    expect((await runCliInProcess(['audit', 'export', '--out', cliFile], { env })).code).toBe(0);
    const cliLines = readFileSync(cliFile, 'utf8').split('\n');
    expect(Object.keys(JSON.parse(cliLines[0]!)).sort()).toEqual(Object.keys(header).sort());
    const recordLines = (all: string[]) =>
      all.filter((line) => line.startsWith('{') && /"type":"(requested|voted|approved|denied|notified|policy_decided)"/.test(line));
    const cliRecords = new Set(recordLines(cliLines));
    expect(recordLines(lines).length).toBeGreaterThanOrEqual(12);
    for (const line of recordLines(lines)) expect(cliRecords.has(line)).toBe(true);
  });

  it('downloads a window, and answers a window it cannot read with a 400 page', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const res = await page(`/console/ledger/export?since=${today}&until=${today}`, 'audit-key');
    expect(res.status).toBe(200);
    const header = JSON.parse(res.body.split('\n')[0]!);
    expect(header).toMatchObject({ type: 'export', since: `${today}T00:00:00.000Z`, until: `${today}T23:59:59.999Z` });
    const bad = await page('/console/ledger/export?since=yesterday', 'audit-key');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^text\/html/);
    expect(bad.body).toContain('since: not a time');
    const reversed = await page('/console/ledger/export?since=2026-11-20&until=2026-11-10', 'audit-key');
    expect(reversed.status).toBe(400);
  });
});
