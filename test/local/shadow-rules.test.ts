/**
 * Shadow rules end to end: a policy trialling stricter rules (`mode: shadow`) gets real requests through local mode's
 * functions; each request is decided by the enforced rules alone, its `policy_decided` record carries what the shadow
 * rules would have done, the functions publish ShadowDecisions, and `countersign policy shadow-report` (run in this
 * process, with an auditor's key) sums it up. The ledger still verifies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config-yaml';
import type { EmfDocument } from '../../lambdas/core/metrics';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { runCliInProcess } from '../fixtures/cli';
import { api } from './harness';

const AGENT = 'agent-key-1';
const AUDITOR = 'audit-key-1';

const POLICY = `
version: 1
groups:
  owners: { members: [{ id: alice@example.com, email: alice@example.com }, { id: bob@example.com, email: bob@example.com }] }
  security: { members: [{ id: sec@example.com, email: sec@example.com }] }
rules:
  - name: trial-big-exports
    mode: shadow
    match: { action: data.export, environment: production, parameters: { rows: { gt: 10000 } } }
    effect: require_approval
    approvers: [owners, security]
    minApprovals: 2
  - name: trial-no-deletes
    mode: shadow
    match: { action: "db.delete*" }
    effect: deny
    reason: trying a ban on deletes
  - { name: exports, match: { action: data.export }, effect: allow }
  - { name: deletes, match: { action: "db.delete*" }, effect: require_approval, approvers: [owners] }
  - { name: trial-everything, mode: shadow, match: {}, effect: deny }
default: { effect: allow }
auditors: [audit@example.com]
channels: { email: { from: countersign@example.com } }
local: { apiKeys: { ${AGENT}: "arn:aws:iam::000000000000:role/agent", ${AUDITOR}: audit@example.com, alice-key-1: alice@example.com } }
`;
const config = parseConfig(POLICY);

describe('shadow rules through local mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-shadow-'));
  let runtime: LocalRuntime;
  const ids: Record<string, string> = {};

  const ask = async (name: string, body: Record<string, unknown>, status: number) => {
    const answer = await api(runtime.url, 'POST', '/v1/actions', AGENT, body);
    expect(answer.status, `${name}: ${JSON.stringify(answer.body)}`).toBe(status);
    ids[name] = answer.body.id;
    return answer.body;
  };
  const decidedRecord = async (name: string) => {
    const records = (await api(runtime.url, 'GET', `/v1/actions/${ids[name]}/audit`, AUDITOR)).body as Array<{ type: string; data: any }>;
    return records.find((r) => r.type === 'policy_decided')!.data;
  };
  const cli = (...args: string[]) => runCliInProcess(args, { env: { COUNTERSIGN_URL: runtime.url, COUNTERSIGN_API_KEY: AUDITOR } });

  beforeAll(async () => {
    runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0, scheduleTimers: false });
    const export50k = { action: 'data.export', environment: 'production', parameters: { rows: 50_000 } };
    expect(await ask('big', export50k, 200)).toMatchObject({ status: 'approved', rule: 'exports' });
    // Respelled as the agent may: still the value the shadow rule compares.
    expect(await ask('respelled', { action: 'data.export', environment: 'ＰＲＯＤＵＣＴＩＯＮ', parameters: { ROWS: ' 50000 ' } }, 200)).toMatchObject({
      rule: 'exports',
    });
    // Enforced, a rule that cannot judge `rows` refuses the request; on trial it only records that.
    expect(await ask('unjudged', { ...export50k, parameters: { rows: 'lots' } }, 200)).toMatchObject({ status: 'approved', rule: 'exports' });
    await ask('small', { ...export50k, parameters: { rows: 5 } }, 200);
    expect(await ask('delete', { action: 'db.delete_rows', environment: 'production' }, 202)).toMatchObject({ status: 'pending', rule: 'deletes' });
    expect(await ask('list', { action: 'users.list' }, 200)).toMatchObject({ status: 'approved', rule: 'default' });
  });
  afterAll(async () => {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records in policy_decided what each shadow rule reached would have done, and nothing for one not reached', async () => {
    const wouldAsk = {
      rule: 'trial-big-exports',
      effect: 'require_approval',
      requiredApprovals: 2,
      approverIds: ['alice@example.com', 'bob@example.com', 'sec@example.com'],
    };
    expect(await decidedRecord('big')).toMatchObject({ rule: 'exports', effect: 'allow', shadow: [wouldAsk] });
    expect((await decidedRecord('respelled')).shadow).toEqual([wouldAsk]);
    expect((await decidedRecord('unjudged')).shadow).toEqual([{ rule: 'trial-big-exports', notJudged: ['parameters.rows'] }]);
    // The deciding rule comes before trial-everything: not reached, and no shadow list at all.
    expect('shadow' in (await decidedRecord('small'))).toBe(false);
    expect(await decidedRecord('delete')).toMatchObject({
      rule: 'deletes',
      effect: 'require_approval',
      shadow: [{ rule: 'trial-no-deletes', effect: 'deny', reason: 'trying a ban on deletes' }],
    });
    expect(await decidedRecord('list')).toMatchObject({ rule: 'default', shadow: [{ rule: 'trial-everything', effect: 'deny' }] });
    // And `audit show` tells it, as not enforced.
    const shown = await cli('audit', 'show', ids.delete!);
    expect(shown.stdout).toContain('Rule deletes requires 1 approval from alice@example.com, bob@example.com');
    expect(shown.stdout).toContain('Shadow rules (on trial, not enforced): trial-no-deletes would deny it.');
    expect((await cli('audit', 'show', ids.unjudged!)).stdout).toContain(
      'Shadow rules (on trial, not enforced): trial-big-exports could not judge parameters.rows.',
    );
  });

  it('publishes ShadowDecisions by rule and would-be effect, in EMF lines and added up', async () => {
    const printed = runtime.metrics.lines.map(({ line }) => JSON.parse(line) as EmfDocument).filter((doc) => 'ShadowDecisions' in doc);
    const line = printed.find((doc) => doc.Rule === 'trial-no-deletes');
    expect(line).toMatchObject({ Effect: 'deny', ShadowDecisions: 1 });
    expect(line!._aws.CloudWatchMetrics.find((d) => d.Metrics.some((m) => m.Name === 'ShadowDecisions'))).toMatchObject({
      Namespace: 'Countersign',
      Dimensions: [['Rule', 'Effect'], []],
      Metrics: [{ Name: 'ShadowDecisions', Unit: 'Count' }],
    });
    // Added up as GET /_local/metrics answers them.
    const sum = (dimensions: Record<string, string>) => runtime.metrics.get('ShadowDecisions', dimensions)?.sum;
    expect(sum({ Rule: 'trial-big-exports', Effect: 'require_approval' })).toBe(2);
    expect(sum({ Rule: 'trial-big-exports', Effect: 'not_judged' })).toBe(1);
    expect(sum({ Rule: 'trial-everything', Effect: 'deny' })).toBe(1);
    expect(sum({})).toBe(5);
  });

  it('reports per shadow rule what it would have done, what happened instead, and whom it would have woken', async () => {
    const { code, stdout, stderr } = await cli('policy', 'shadow-report', '--since', '7d', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ requests: 6, unreadable: 0, since: expect.stringMatching(/Z$/), exportedAt: expect.any(String) });
    expect(report.rules).toEqual([
      {
        rule: 'trial-big-exports',
        matched: 3,
        wouldHave: { allow: 0, deny: 0, require_approval: 2, notJudged: 1 },
        differs: 3,
        actually: [{ rule: 'exports', effect: 'allow', requests: 3 }],
        wouldAsk: [
          { approver: 'alice@example.com', requests: 2, notAlreadyAsked: 2 },
          { approver: 'bob@example.com', requests: 2, notAlreadyAsked: 2 },
          { approver: 'sec@example.com', requests: 2, notAlreadyAsked: 2 },
        ],
        examples: expect.arrayContaining([ids.big, ids.respelled, ids.unjudged]),
      },
      {
        rule: 'trial-everything',
        matched: 1,
        wouldHave: { allow: 0, deny: 1, require_approval: 0, notJudged: 0 },
        differs: 1,
        actually: [{ rule: 'default', effect: 'allow', requests: 1 }],
        wouldAsk: [],
        examples: [ids.list],
      },
      {
        rule: 'trial-no-deletes',
        matched: 1,
        wouldHave: { allow: 0, deny: 1, require_approval: 0, notJudged: 0 },
        differs: 1,
        actually: [{ rule: 'deletes', effect: 'require_approval', requests: 1 }],
        wouldAsk: [],
        examples: [ids.delete],
      },
    ]);

    const text = await cli('policy', 'shadow-report', '--since', '24h');
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^shadow rules from \d+ \w+ \d{4}, \d\d:\d\d UTC to \d+ \w+ \d{4}, \d\d:\d\d UTC: 6 requests decided$/);
    expect(lines).toContain('RULE               MATCHED  ALLOW  DENY  APPROVAL  NOT JUDGED  DIFFERS');
    expect(lines).toContain('trial-big-exports        3      0     0         2           1        3');
    expect(lines).toContain('trial-no-deletes         1      0     1         0           0        1');
    expect(text.stdout).toContain(
      'trial-big-exports\n  actually      allow 3 (rule exports)\n  would ask     alice@example.com 2 (2 not already asked), bob@example.com 2 (2 not already asked), sec@example.com 2 (2 not already asked)\n',
    );
    expect(text.stdout).toContain('trial-no-deletes\n  actually      require_approval 1 (rule deletes)\n  would ask     nobody\n');

    // A window before any request: nothing matched, said so.
    const empty = await cli('policy', 'shadow-report', '--since', '2020-01-01T00:00:00Z', '--until', '2020-01-02T00:00:00Z');
    expect(empty.stdout).toBe('shadow rules from 1 Jan 2020, 00:00 UTC to 2 Jan 2020, 00:00 UTC: no request was decided\n');
  });

  it('is for auditors, and says what is wrong with a window without a stack trace', async () => {
    const approver = await runCliInProcess(['policy', 'shadow-report', '--json'], {
      env: { COUNTERSIGN_URL: runtime.url, COUNTERSIGN_API_KEY: 'alice-key-1' },
    });
    expect(approver.code).toBe(3);
    expect(JSON.parse(approver.stdout)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(approver.stderr).toMatch(/^countersign policy shadow-report: forbidden: .*\(HTTP 403\)\n$/);
    const bad = await cli('policy', 'shadow-report', '--since', 'last week');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'countersign policy shadow-report: --since is neither a duration (30m, 24h, 7d) nor an ISO 8601 time with its zone: last week',
    );
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const reversed = await cli('policy', 'shadow-report', '--since', '1h', '--until', '2d');
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toMatch(/--since \(.*\) is after --until/);
  });

  it('are explained by policy explain, in rule order, with what each would have done', async () => {
    const policyFile = join(dir, 'policy.yaml');
    const requestFile = join(dir, 'request.json');
    writeFileSync(policyFile, POLICY);
    writeFileSync(requestFile, JSON.stringify({ action: 'data.export', environment: 'production', parameters: { rows: 'lots' } }));
    const text = await cli('policy', 'explain', '--config', policyFile, '--request', requestFile);
    expect(text.stdout).toBe(
      [
        'rule trial-big-exports (shadow): cannot judge the request -> would refuse it (400 invalid_request); on trial, not enforced',
        '    parameters.rows is "lots", not a number: policy compares this to a number: send a number',
        'rule trial-no-deletes (shadow): does not match',
        '    action data.export does not match "db.delete*"',
        'rule exports: matches -> allow',
        '',
      ].join('\n'),
    );
    writeFileSync(requestFile, JSON.stringify({ action: 'data.export', environment: 'production', parameters: { rows: 50_000 } }));
    const json = JSON.parse((await cli('policy', 'explain', '--config', policyFile, '--request', requestFile, '--json')).stdout);
    expect(json).toMatchObject({
      rule: 'exports',
      effect: 'allow',
      skipped: [{ rule: 'trial-no-deletes', shadow: true }],
      shadow: [
        {
          rule: 'trial-big-exports',
          effect: 'require_approval',
          approval: { approvers: ['alice@example.com', 'bob@example.com', 'sec@example.com'], minApprovals: 2 },
        },
      ],
    });
  });

  it('leaves a ledger that verifies, shadow results and all', async () => {
    const { code, stdout } = await cli('audit', 'verify', '--json');
    const report = JSON.parse(stdout);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    expect(report.requests).toBe(6);
  });
});
