/** `countersign policy shadow-report`: the report it makes of `policy_decided` records, and the window it reads. */
import { describe, expect, it } from 'vitest';
import { shadowReportLines, windowTime } from '../../cli/shadow-report';
import { shadowReport } from '../../lambdas/core/shadow-report';

describe('the shadow report', () => {
  const decidedRecord = (requestId: string, data: Record<string, unknown>) => ({ requestId, seq: 2, type: 'policy_decided', at: '2026-11-30T00:00:00Z', data });
  const base = { requiredApprovals: 0, approvers: [] as string[] };

  it('sums per shadow rule what it would have done, what happened instead, and whom it would have asked', () => {
    const report = shadowReport([
      { type: 'export', format: 2 },
      decidedRecord('act_1', {
        ...base,
        rule: 'exports',
        effect: 'allow',
        shadow: [{ rule: 'big', effect: 'require_approval', requiredApprovals: 1, approverIds: ['alice@example.com', 'bob@example.com'] }],
      }),
      decidedRecord('act_2', {
        rule: 'prod',
        effect: 'require_approval',
        requiredApprovals: 1,
        approvers: ['alice@example.com'],
        shadow: [
          { rule: 'big', effect: 'require_approval', requiredApprovals: 1, approverIds: ['alice@example.com', 'bob@example.com'] },
          { rule: 'ban', effect: 'deny' },
        ],
      }),
      decidedRecord('act_3', { ...base, rule: 'exports', effect: 'allow', shadow: [{ rule: 'big', notJudged: ['parameters.rows'] }] }),
      decidedRecord('act_3', { ...base, rule: 'exports', effect: 'allow', shadow: [{ rule: 'big', notJudged: ['parameters.rows'] }] }),
      decidedRecord('act_4', { ...base, rule: 'reads', effect: 'allow' }),
      { requestId: 'act_5', type: 'policy_decided', data: { rule: 'x' } },
      { requestId: 'act_1', seq: 1, type: 'requested', data: {} },
    ]);
    expect(report).toEqual({
      requests: 4,
      unreadable: 1,
      rules: [
        {
          rule: 'big',
          matched: 3,
          wouldHave: { allow: 0, deny: 0, require_approval: 2, notJudged: 1 },
          differs: 2,
          actually: [
            { rule: 'exports', effect: 'allow', requests: 2 },
            { rule: 'prod', effect: 'require_approval', requests: 1 },
          ],
          wouldAsk: [
            { approver: 'alice@example.com', requests: 2, notAlreadyAsked: 1 },
            { approver: 'bob@example.com', requests: 2, notAlreadyAsked: 2 },
          ],
          examples: ['act_1', 'act_2', 'act_3'],
        },
        {
          rule: 'ban',
          matched: 1,
          wouldHave: { allow: 0, deny: 1, require_approval: 0, notJudged: 0 },
          differs: 1,
          actually: [{ rule: 'prod', effect: 'require_approval', requests: 1 }],
          wouldAsk: [],
          examples: ['act_2'],
        },
      ],
    });
  });

  it('counts a request a grant approved at once as asking nobody, and as differing from a rule that would ask', () => {
    const report = shadowReport([
      decidedRecord('act_g', {
        rule: 'infra',
        effect: 'require_approval',
        requiredApprovals: 1,
        approvers: ['dave@example.com'],
        grantedBy: { grant: 'grt_x', request: 'act_x', until: '2026-11-30T08:00:00Z', approvers: ['dave@example.com'] },
        shadow: [{ rule: 'shadow-infra', effect: 'require_approval', requiredApprovals: 1, approverIds: ['dave@example.com'] }],
      }),
    ]);
    expect(report.rules[0]).toMatchObject({
      differs: 1,
      actually: [{ rule: 'infra', effect: 'require_approval', byGrant: true, requests: 1 }],
      wouldAsk: [{ approver: 'dave@example.com', requests: 1, notAlreadyAsked: 1 }],
    });
    expect(shadowReportLines(report, { since: '2026-11-23T00:00:00Z', until: '2026-11-30T00:00:00Z' }).join('\n')).toContain(
      'approved by a grant 1 (rule infra)',
    );
  });

  it('reads its window as a duration back from now or an ISO time, and refuses anything else', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    expect(windowTime('since', '7d', now)).toBe('2026-11-23T12:00:00.000Z');
    expect(windowTime('since', '24h', now)).toBe('2026-11-29T12:00:00.000Z');
    expect(windowTime('until', '2026-11-30T10:00:00Z', now)).toBe('2026-11-30T10:00:00.000Z');
    for (const bad of ['7 days', '-7d', '0d', 'yesterday', '12', '2026-02-30T00:00:00Z', '2026-11-30T10:00'])
      expect(() => windowTime('since', bad, now), bad).toThrow(/--since is neither a duration/);
  });

  it('shows text from the ledger on a terminal with control and hidden characters made visible', () => {
    const hostile = '\u001b[2Jtrial\u202Eevil';
    const report = shadowReport([
      {
        requestId: 'act_x\nledger: OK',
        type: 'policy_decided',
        data: {
          rule: 'r\u200B',
          effect: 'allow',
          requiredApprovals: 0,
          approvers: [],
          shadow: [{ rule: hostile, effect: 'require_approval', approverIds: ['eve\u0007@example.com'] }],
        },
      },
    ]);
    const text = shadowReportLines(report, { since: '2026-11-23T00:00:00Z', until: '2026-11-30T00:00:00Z' }).join('\n');
    expect(text).toContain('\\x1b[2Jtrial[U+202E]evil');
    expect(text).toContain('allow 1 (rule r[U+200B])');
    expect(text).toContain('eve\\x07@example.com 1 (1 not already asked)');
    expect(text).toContain('act_x\\nledger: OK');
    // Nothing left that a terminal would act on or hide: no control or format character but the line breaks.
    expect(text.replace(/\n/g, '')).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    // Summary line and table, for reading at a glance.
    expect(text.split('\n').slice(0, 4)).toEqual([
      'shadow rules from 23 Nov 2026, 00:00 UTC to 30 Nov 2026, 00:00 UTC: 1 request decided',
      '',
      'RULE                      MATCHED  ALLOW  DENY  APPROVAL  NOT JUDGED  DIFFERS',
      '\\x1b[2Jtrial[U+202E]evil        1      0     0         1           0        1',
    ]);
  });
});
