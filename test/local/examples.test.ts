/** The README's examples run against local mode: the agent client, the downstream receipt check, the ledger checks. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCountersignReceipt } from '../../examples/verify-receipt';
import { api, eventually, ROOT, startCountersign, type RunningCountersign } from './harness';

describe('README examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-examples-'));
  let cs: RunningCountersign;
  beforeAll(async () => {
    cs = await startCountersign({ dataDir: join(dir, 'data') });
  });
  afterAll(async () => {
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('embeds examples/verify-receipt.ts and examples/ask-for-approval.ts verbatim', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(readFileSync(join(ROOT, 'examples/verify-receipt.ts'), 'utf8').trim());
    expect(readme).toContain(readFileSync(join(ROOT, 'examples/ask-for-approval.ts'), 'utf8').trim());
  });

  it('runs the client example: it waits for two approvals and acts on the approval; a deny stops it', async () => {
    const example = (key: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/ask-for-approval.ts'], {
        cwd: ROOT,
        env: { ...process.env, COUNTERSIGN_URL: cs.url, COUNTERSIGN_API_KEY: key },
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
    const decideWhenAsked = async (decisions: Array<[string, 'approve' | 'deny', string?]>) => {
      const id = await eventually(async () => {
        const pending = await api(cs.url, 'GET', '/v1/me/pending', decisions[0]![0]);
        return (pending.body.items as Array<{ id: string; requester: string }>).find((v) => v.requester.endsWith('/demo-agent'))?.id;
      });
      for (const [key, decision, reason] of decisions) await api(cs.url, 'POST', `/v1/actions/${id}/decision`, key, { decision, ...(reason ? { reason } : {}) });
    };
    const [approved] = await Promise.all([example('demo-agent-key'), decideWhenAsked([['alice-key', 'approve'], ['bob-key', 'approve']])]);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/^approved as act_[\w-]+; receipt eyJ/);
    const [denied] = await Promise.all([example('demo-agent-key'), decideWhenAsked([['alice-key', 'deny', 'use the anonymized replica']])]);
    expect(denied).toEqual({ code: 1, stdout: 'not exporting: denied (use the anonymized replica)\n' });
  }, 60_000);

  it('walks the README: the demo agent asks, two approvers approve, the receipt and the ledger verify', async () => {
    const parameters = { table: 'customers', format: 'csv' };
    const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', {
      action: 'data.export',
      resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
      environment: 'production',
      parameters,
      justification: 'Quarterly churn analysis',
    });
    expect(created.body).toMatchObject({ status: 'pending', rule: 'prod-exports', requiredApprovals: 2 });
    expect((await api(cs.url, 'POST', `/v1/actions/${created.body.id}/decision`, 'alice-key', { decision: 'approve' })).body.status).toBe('pending');
    const approved = (await api(cs.url, 'POST', `/v1/actions/${created.body.id}/decision`, 'bob-key', { decision: 'approve' })).body;
    expect(approved.status).toBe('approved');

    const pem = await (await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer demo-agent-key' } })).text();
    expect(verifyCountersignReceipt(approved.receipt, pem, { action: 'data.export', parameters })).toMatchObject({ sub: created.body.id });
    expect(() => verifyCountersignReceipt(approved.receipt, pem, { action: 'data.export', parameters: { ...parameters, table: 'users' } })).toThrow('other parameters');
    expect(() => verifyCountersignReceipt(approved.receipt, pem, { action: 'db.drop', parameters })).toThrow('another action');

    const cli = (...args: string[]) => promisify(execFile)(process.execPath, [join(ROOT, 'cli/countersign.mjs'), ...args, '--url', cs.url, '--api-key', 'audit-key'], { cwd: ROOT });
    expect((await cli('audit', 'show', created.body.id)).stdout).toMatch(/ledger: 6 records verify/);
    expect((await cli('receipt', 'verify', approved.receipt)).stdout).toMatch(/approvers\s+alice@example\.com, bob@example\.com/);
  });
});
