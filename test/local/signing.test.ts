/**
 * Record signing in local mode, measured on the local KMS endpoint (`GET /_local/stats` counts its requests): once the
 * functions' environments hold their certified keys, an approval costs at most one KMS Sign (its receipt), and the
 * ledger it leaves still verifies with the KMS public key alone, through `countersign audit verify` and `audit show`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../fixtures/cli';
import { api, eventually, type RunningCountersign, startCountersign } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'cs-signing-'));
let cs: RunningCountersign;

const auditor = () => ({ env: { COUNTERSIGN_URL: cs.url, COUNTERSIGN_API_KEY: 'audit-key' }, input: '' });

/** KMS Sign requests the local endpoint served so far. */
async function signs(): Promise<number> {
  const stats = (await (await fetch(`${cs.endpoints.kms}/_local/stats`)).json()) as { operations: Record<string, number> };
  return stats.operations.Sign ?? 0;
}

/** Waits until no Sign arrived for `quietMs` (the workflow's last steps run after the vote's answer). */
async function settledSigns(quietMs = 1500): Promise<number> {
  let last = await signs();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = await signs();
    if (now === last) return now;
    last = now;
  }
}

/** One approval, end to end: asked, notified, approved by one approver, its receipt read by the requester. */
async function approval(n: number): Promise<string> {
  const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', {
    action: 'deploy.service',
    resource: `svc-${n}`,
    environment: 'staging',
    parameters: { version: `1.${n}` },
  });
  expect(created.body).toMatchObject({ status: 'pending', rule: 'default' });
  const id = created.body.id as string;
  await eventually(async () => {
    const audit = await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key');
    return (audit.body as Array<{ type: string }>).some((r) => r.type === 'notified') ? true : undefined;
  });
  const voted = await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve' });
  expect(voted.body.status).toBe('approved');
  const read = await api(cs.url, 'GET', `/v1/actions/${id}`, 'demo-agent-key');
  expect(read.body.receipt).toEqual(expect.any(String));
  return id;
}

/** Every item of the ledger, through the export API. */
async function exportedItems(): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let cursor: string | undefined;
  do {
    const page = await api(cs.url, 'GET', `/v1/audit/export${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, 'audit-key');
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.cursor ?? undefined;
  } while (cursor);
  return items;
}

beforeAll(async () => {
  cs = await startCountersign({ dataDir: join(dir, 'data') });
});

afterAll(async () => {
  await cs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('record signing with certified environment keys', () => {
  const ids: string[] = [];
  const measured = { approvals: 12, signs: 0, checkpoints: 0, certificates: 0 };

  it('costs at most one KMS Sign per approval once the environments are warm', async () => {
    // Warm-up: the first records of each function's environment certify its key (one Sign each).
    ids.push(await approval(0), await approval(1));
    const before = await settledSigns();
    const start = new Date().toISOString();
    for (let n = 2; n < 2 + measured.approvals; n++) ids.push(await approval(n));
    const after = await settledSigns();
    const end = new Date().toISOString();
    const items = await exportedItems();
    const within = (at: unknown) => typeof at === 'string' && at >= start && at <= end;
    // What else may sign meanwhile, and is not per approval: a checkpoint (every five minutes), a new environment's certificate.
    measured.checkpoints = items.filter((i) => i.type === 'checkpoint' && within(i.at)).length;
    measured.certificates = items.filter((i) => i.type === 'signing_certificate' && within(i.notBefore)).length;
    measured.signs = after - before;
    console.log(
      `KMS Sign: ${measured.signs} for ${measured.approvals} approvals (${(measured.signs / measured.approvals).toFixed(2)} each; ${measured.checkpoints} checkpoints, ${measured.certificates} new certificates among them)`,
    );
    expect(measured.signs - measured.checkpoints - measured.certificates).toBeLessThanOrEqual(measured.approvals);
    expect(measured.certificates).toBeLessThanOrEqual(2);
    // Every record of these approvals names a certificate, and every certificate is in the export.
    const records = items.filter((i) => typeof i.requestId === 'string' && ids.includes(i.requestId as string));
    const certificates = new Set(items.filter((i) => i.type === 'signing_certificate').map((i) => i.certificateId));
    expect(records.length).toBeGreaterThanOrEqual(5 * ids.length);
    expect(records.every((r) => certificates.has(r.keyId))).toBe(true);
  });

  it('leaves a ledger that countersign audit verify and audit show verify with the KMS public key', async () => {
    const verify = await runCliInProcess(['audit', 'verify', '--json'], auditor());
    const report = JSON.parse(verify.stdout);
    expect(report.findings).toEqual([]);
    expect(verify.code).toBe(0);
    expect(report.certificates).toBeGreaterThanOrEqual(1);
    const show = await runCliInProcess(['audit', 'show', ids.at(-1)!], auditor());
    expect(show.stderr).toBe('');
    expect(show.code).toBe(0);
    expect(show.stdout.trimEnd().split('\n').at(-1)).toMatch(/^ledger: \d+ records verify$/);
  });

  it('carries the certificates a window needs in an export read from the time index', async () => {
    const since = new Date(Date.now() - 30 * 60_000).toISOString();
    {
      const file = join(dir, 'window.jsonl');
      const exported = await runCliInProcess(['audit', 'export', '--since', since, '--out', file], auditor());
      expect(exported.code, exported.stderr).toBe(0);
      const lines = readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const certificates = new Set(lines.filter((l) => l.type === 'signing_certificate').map((l) => l.certificateId));
      const records = lines.filter((l) => typeof l.requestId === 'string' && ids.includes(l.requestId as string));
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((r) => certificates.has(r.keyId))).toBe(true);
      // Each certificate once.
      expect(lines.filter((l) => l.type === 'signing_certificate')).toHaveLength(certificates.size);
      const verify = await runCliInProcess(['audit', 'verify', '--file', file, '--json'], auditor());
      expect(JSON.parse(verify.stdout).findings).toEqual([]);
      expect(verify.code).toBe(0);
    }
  });
});
