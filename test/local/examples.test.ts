/**
 * The README's examples run against local mode: the agent client, the downstream receipt check (TypeScript and the
 * shell block), the ledger checks.
 */

import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { canonical, verifyCountersignReceipt } from '../../examples/verify-receipt';
import { canonicalText } from '../../lambdas/core/text';
import { runCliInProcess } from '../fixtures/cli';
import { api, eventually, ROOT, sharedCountersign } from './harness';

describe('README examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-examples-'));
  // The run's shared local mode (default policy): other files' requests may be pending beside this file's.
  const cs = sharedCountersign();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The fenced block of README.md whose first line is `first`. */
  const readmeBlock = (first: string): string => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((b) => b.startsWith(first));
    expect(blocks).toHaveLength(1);
    return blocks[0]!;
  };

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
    type Pending = { id: string; requester: string; action: string; resource?: string; environment?: string };
    const pendingFor = async (key: string) => (await api(cs.url, 'GET', '/v1/me/pending', key)).body.items as Pending[];
    const decideWhenAsked = async (decisions: Array<[string, 'approve' | 'deny', string?]>, before: ReadonlySet<string>) => {
      // The example's request: new since it started, from the demo agent, for the export it asks about.
      const id = await eventually(
        async () =>
          (await pendingFor(decisions[0]![0])).find(
            (v) =>
              !before.has(v.id) &&
              v.requester.endsWith('/demo-agent') &&
              v.action === 'data.export' &&
              v.environment === 'production' &&
              v.resource === 'arn:aws:rds:eu-west-1:123456789012:db:customers',
          )?.id,
      );
      for (const [key, decision, reason] of decisions)
        await api(cs.url, 'POST', `/v1/actions/${id}/decision`, key, { decision, ...(reason ? { reason } : {}) });
    };
    const pendingIds = async () => new Set((await pendingFor('alice-key')).map((v) => v.id));
    const [approved] = await Promise.all([
      example('demo-agent-key'),
      decideWhenAsked(
        [
          ['alice-key', 'approve'],
          ['bob-key', 'approve'],
        ],
        await pendingIds(),
      ),
    ]);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/^approved as act_[\w-]+; receipt eyJ/);
    const [denied] = await Promise.all([example('demo-agent-key'), decideWhenAsked([['alice-key', 'deny', 'use the anonymized replica']], await pendingIds())]);
    expect(denied).toEqual({ code: 1, stdout: 'not exporting: denied (use the anonymized replica)\n' });
  }, 60_000);

  it("compares resource and environment in the canonical form policy uses (the example's copy of canonicalText)", () => {
    const samples = [
      'production',
      'Production ',
      ' PRODUCTION\t',
      'ｐｒｏｄｕｃｔｉｏｎ',
      'pro\u200Bduction',
      'a\u202Eb',
      'ﬁle',
      'x\u00A0\u00A0y',
      '\u{E0041}tag',
      'ǅ',
      '',
      'İstanbul',
    ];
    for (const text of samples) expect(canonical(text), JSON.stringify(text)).toBe(canonicalText(text));
    expect(canonical(undefined)).toBe('');
    // Any text at all, every plane, unassigned and default-ignorable code points and lone surrogates included.
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(canonical(text)).toBe(canonicalText(text));
      }),
      { numRuns: 3000 },
    );
    for (const invisible of ['\u034F', '\uFE0F', '\u180B', '\u17B4', '\u{E0100}', '\u2060', '\uD800', '\u{E0FFF}']) {
      expect(canonical(`pro${invisible}duction`), JSON.stringify(invisible)).toBe('production');
    }
  });

  it('runs the README\'s "check a receipt downstream" block as written: exit 0 only for this export, approved by people', async () => {
    const block = readmeBlock('# check a receipt downstream\n');
    expect(block).toContain('--action data.export');
    expect(block).toContain('--approved-by-humans');
    const approve = async (environment: string) => {
      const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', {
        action: 'data.export',
        resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
        environment,
        parameters: { table: 'customers', format: 'csv' },
      });
      expect(created.body.status).toBe('pending');
      await api(cs.url, 'POST', `/v1/actions/${created.body.id}/decision`, 'alice-key', { decision: 'approve' });
      const approved = await api(cs.url, 'POST', `/v1/actions/${created.body.id}/decision`, 'bob-key', { decision: 'approve' });
      expect(approved.body.status).toBe('approved');
      // The requester reads its receipt.
      return (await api(cs.url, 'GET', `/v1/actions/${created.body.id}`, 'demo-agent-key')).body.receipt as string;
    };
    const [production, staging] = [await approve('production'), await approve('staging')];
    // The job's working folder: the ledger key saved once, its parameters, and `npx countersign` as installed.
    const work = join(dir, 'downstream');
    const bin = join(work, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(work, 'ledger.pem'), await (await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer audit-key' } })).text());
    writeFileSync(
      join(bin, 'npx'),
      `#!/usr/bin/env bash\n[ "$1" = countersign ] || exit 99\nshift\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'cli/countersign.mjs'))} "$@"\n`,
    );
    chmodSync(join(bin, 'npx'), 0o755);
    const run = (receipt: string, params: unknown) => {
      writeFileSync(join(work, 'params.json'), JSON.stringify(params));
      const { COUNTERSIGN_API_KEY: _k, COUNTERSIGN_URL: _u, ...env } = process.env;
      return promisify(execFile)('bash', ['-euo', 'pipefail', '-c', block], {
        cwd: work,
        // No API: the block verifies offline with ledger.pem.
        env: { ...env, COUNTERSIGN_RECEIPT: receipt, COUNTERSIGN_URL: 'http://127.0.0.1:9', PATH: `${bin}${delimiter}${process.env.PATH}` },
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
    };
    const ok = await run(production, { format: 'csv', table: 'customers' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^receipt: valid\n/);
    expect(ok.stdout).toContain('checked      action, resource, environment, approved by people, parameters');
    expect(await run(staging, { format: 'csv', table: 'customers' })).toEqual({
      code: 1,
      stdout: 'receipt: INVALID (environment_mismatch: receipt is for environment "staging"; expected environment "production")\n',
    });
    expect(await run(production, { format: 'csv', table: 'users' })).toEqual({
      code: 1,
      stdout: 'receipt: INVALID (parameters_mismatch: receipt was issued for different parameters)\n',
    });
  });

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
    // As in the README, the approvers decide once they were asked (the `notified` record is the sixth below).
    await eventually(async () =>
      ((await api(cs.url, 'GET', `/v1/actions/${created.body.id}/audit`, 'audit-key')).body as Array<{ type: string }>).some((r) => r.type === 'notified')
        ? true
        : undefined,
    );
    expect((await api(cs.url, 'POST', `/v1/actions/${created.body.id}/decision`, 'alice-key', { decision: 'approve' })).body.status).toBe('pending');
    expect((await api(cs.url, 'POST', `/v1/actions/${created.body.id}/decision`, 'bob-key', { decision: 'approve' })).body.status).toBe('approved');
    const approved = (await api(cs.url, 'GET', `/v1/actions/${created.body.id}`, 'demo-agent-key')).body;
    expect(approved.status).toBe('approved');

    const pem = await (await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer demo-agent-key' } })).text();
    const expected = {
      action: 'data.export',
      resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
      environment: 'production',
      parameters,
      approvedByHumans: true,
    };
    expect(verifyCountersignReceipt(approved.receipt, pem, expected)).toMatchObject({ sub: created.body.id, decidedBy: 'approvers' });
    expect(verifyCountersignReceipt(approved.receipt, pem, { ...expected, environment: 'Production ' })).toMatchObject({ sub: created.body.id });
    expect(() => verifyCountersignReceipt(approved.receipt, pem, { ...expected, parameters: { ...parameters, table: 'users' } })).toThrow('other parameters');
    expect(() => verifyCountersignReceipt(approved.receipt, pem, { ...expected, action: 'db.drop' })).toThrow('another action');
    expect(() => verifyCountersignReceipt(approved.receipt, pem, { ...expected, resource: 'arn:aws:rds:eu-west-1:123456789012:db:users' })).toThrow(
      'another resource',
    );
    expect(() => verifyCountersignReceipt(approved.receipt, pem, { ...expected, resource: undefined })).toThrow('another resource');
    expect(() => verifyCountersignReceipt(approved.receipt, pem, { ...expected, environment: 'staging' })).toThrow('another environment');
    // A receipt a rule issued on its own (read-only allows reports.read at once) passes only without approvedByHumans.
    const byPolicy = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', { action: 'reports.read', resource: 'warehouse' });
    expect(byPolicy.body).toMatchObject({ status: 'approved', rule: 'read-only' });
    const readExpected = { action: 'reports.read', resource: 'warehouse' };
    expect(verifyCountersignReceipt(byPolicy.body.receipt, pem, readExpected)).toMatchObject({ decidedBy: 'policy', approvers: [] });
    expect(() => verifyCountersignReceipt(byPolicy.body.receipt, pem, { ...readExpected, approvedByHumans: true })).toThrow('policy alone');

    // The CLI in this process; each must exit 0.
    const cli = async (...args: string[]) => {
      const run = await runCliInProcess([...args, '--url', cs.url, '--api-key', 'audit-key']);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      return run;
    };
    expect((await cli('audit', 'show', created.body.id)).stdout).toMatch(/ledger: 6 records verify/);
    expect((await cli('receipt', 'verify', approved.receipt)).stdout).toMatch(/approvers\s+alice@example\.com, bob@example\.com/);
  });
});
