/**
 * The auditor's page, pure parts: its filters (respelled people and values find what policy would call the same),
 * the charts' figures (quantiles of time to decision, UTC days), and chart data carried inside HTML.
 */
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../lambdas/app/history';
import { CONSOLE_ASSETS } from '../../lambdas/console/assets';
import {
  type AuditFilters,
  decisionsPerApprover,
  decisionTimes,
  decisionTimesChart,
  expiriesAndReminders,
  filterRequests,
  inReadableUnit,
  jsonForHtml,
  parseAuditQuery,
  quantile,
  requestsPerDay,
} from '../../lambdas/console/audit-data';
import { CountersignError } from '../../lambdas/core/errors';
import { IdentityDirectory } from '../../lambdas/core/identity';
import type { AuditRecord } from '../../lambdas/core/ledger-record';
import { BUNDLING } from '../../lib/bundling';
import { TEXT_IMPORTS } from '../../lib/text-imports';
import { TEXT_IMPORTS as TEST_TEXT_IMPORTS } from '../../vitest.config';

const directory = new IdentityDirectory(
  [
    { id: 'alice@example.com', email: 'alice@example.com', slackUserId: 'U0ALICE' },
    { id: 'bob@example.com', email: 'bob@example.com' },
  ],
  ['audit@example.com'],
);

interface Made {
  id: string;
  createdAt: string;
  action?: string;
  rule?: string;
  requester?: string;
  onBehalfOf?: string;
  votes?: Array<{ approver: string; decision: 'approve' | 'deny'; at?: string }>;
  outcome?: { status: 'approved' | 'denied' | 'expired' | 'cancelled'; decidedBy?: 'approvers' | 'policy' | 'timeout' | 'requester'; at: string };
  reminded?: string[];
}

/** A request as the history read gives it: only what the page reads is filled in. */
function entry(m: Made): HistoryEntry {
  const chain = (m.reminded ?? []).map((at, i) => ({ requestId: m.id, seq: 3 + i, type: 'reminded', at }) as unknown as AuditRecord);
  return {
    state: {
      id: m.id,
      createdAt: m.createdAt,
      requester: m.requester ?? 'arn:aws:iam::000000000000:role/agent',
      request: { action: m.action ?? 'data.export', ...(m.onBehalfOf ? { onBehalfOf: m.onBehalfOf } : {}) },
      policy: { rule: m.rule ?? 'prod-exports' },
      votes: (m.votes ?? []).map((v) => ({ ...v, at: v.at ?? m.createdAt })),
      ...(m.outcome ? { outcome: { decidedBy: 'approvers', ...m.outcome } } : {}),
    },
    chain,
    reminders: chain.length,
    escalated: false,
  } as unknown as HistoryEntry;
}

const now = new Date('2026-11-30T12:00:00.000Z');
const range = (over: Partial<AuditFilters> = {}): AuditFilters => ({ from: '2026-11-01', to: '2026-11-30', page: 1, ...over });

describe('the audit filters', () => {
  it('default to the last 30 days, today included, and read empty fields as not given', () => {
    expect(parseAuditQuery({ status: '', rule: '  ', from: '' }, now)).toEqual({
      from: '2026-11-01',
      to: '2026-11-30',
      page: 1,
      status: undefined,
      rule: undefined,
      action: undefined,
      requester: undefined,
      approver: undefined,
    });
  });

  it.each([
    [{ from: '2026-13-01' }, 'from: not a date'],
    [{ to: '2026-02-30' }, 'to: not a date'],
    [{ from: 'yesterday' }, 'from: not a date'],
    [{ from: '2026-11-20', to: '2026-11-10' }, 'from: 2026-11-20 is after to: 2026-11-10'],
    [{ from: '2020-01-01', to: '2026-11-10' }, 'choose at most 366'],
    [{ status: 'approved<script>' }, 'status: expected one of pending, approved'],
    [{ page: '0' }, 'page: a page number'],
    [{ rule: 'x'.repeat(257) }, 'rule: at most 256 characters'],
  ])('refuse %j as invalid_request, saying which field', (query, message) => {
    let error: unknown;
    try {
      parseAuditQuery(query, now);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CountersignError);
    expect((error as CountersignError).code).toBe('invalid_request');
    expect((error as CountersignError).message).toContain(message);
  });

  const made = [
    entry({
      id: 'a',
      createdAt: '2026-11-10T10:00:00.000Z',
      rule: 'prod-exports',
      action: 'data.export',
      requester: 'arn:aws:iam::000000000000:role/agent',
      onBehalfOf: 'alice@example.com',
      votes: [{ approver: 'bob@example.com', decision: 'approve' }],
      outcome: { status: 'approved', at: '2026-11-10T10:30:00.000Z' },
    }),
    entry({ id: 'b', createdAt: '2026-11-11T10:00:00.000Z', rule: 'infra-changes', action: 'infra.deploy', requester: 'alice@example.com' }),
    entry({
      id: 'c',
      createdAt: '2026-11-12T10:00:00.000Z',
      rule: 'default',
      action: 'db.migrate',
      requester: 'bob@example.com',
      votes: [{ approver: 'alice@example.com', decision: 'deny' }],
      outcome: { status: 'denied', at: '2026-11-12T11:00:00.000Z' },
    }),
    entry({ id: 'late', createdAt: '2026-12-01T00:00:00.000Z', requester: 'alice@example.com' }),
    entry({ id: 'early', createdAt: '2026-10-31T23:59:59.999Z', requester: 'alice@example.com' }),
  ];
  const ids = (over: Partial<AuditFilters>) => filterRequests(made, range(over), directory).map((e) => e.state.id);

  it('select by the date range in UTC days, both ends included', () => {
    expect(ids({})).toEqual(['a', 'b', 'c']);
    expect(ids({ from: '2026-10-31', to: '2026-12-01' })).toEqual(['a', 'b', 'c', 'late', 'early']);
  });

  it('find a requester or approver under any spelling and alias of theirs, as policy would', () => {
    expect(ids({ requester: 'Alice@Example.COM' })).toEqual(['a', 'b']); // a: on behalf of alice; b: alice asked
    expect(ids({ requester: ' alice@example.com ' })).toEqual(['a', 'b']);
    expect(ids({ requester: 'bob@example.com' })).toEqual(['c']);
    expect(ids({ approver: 'BOB@example.com' })).toEqual(['a']);
    // Alice's Slack user id is alice.
    expect(ids({ approver: 'U0ALICE' })).toEqual(['c']);
    expect(ids({ approver: 'mallory@example.com' })).toEqual([]);
    expect(ids({ requester: '*:role/agent' })).toEqual(['a']);
  });

  it('match rules and actions in canonical form (case, full-width letters, hidden characters), or by a glob', () => {
    expect(ids({ rule: 'PROD-Exports' })).toEqual(['a']);
    expect(ids({ rule: 'prod\u200b-exports' })).toEqual(['a']);
    expect(ids({ action: 'ｄａｔａ.EXPORT' })).toEqual(['a']);
    expect(ids({ action: 'infra.*' })).toEqual(['b']);
    expect(ids({ action: 'data' })).toEqual([]);
    expect(ids({ status: 'pending' })).toEqual(['b']);
    expect(ids({ status: 'denied', approver: 'alice@example.com', rule: 'DEFAULT' })).toEqual(['c']);
  });
});

describe("the audit page's charts", () => {
  it('take quantiles between the nearest ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([10], 0.9)).toBe(10);
    expect(quantile([0, 10], 0.9)).toBe(9);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('give time to decision per rule from approvers’ decisions only, in minutes', () => {
    const at = (minutes: number) => new Date(Date.parse('2026-11-10T00:00:00.000Z') + minutes * 60_000).toISOString();
    const decided = (id: string, rule: string, minutes: number, extra: Partial<Made> = {}) =>
      entry({ id, rule, createdAt: at(0), outcome: { status: 'approved', at: at(minutes) }, ...extra });
    const times = decisionTimes([
      decided('1', 'prod-exports', 10),
      decided('2', 'prod-exports', 20),
      decided('3', 'prod-exports', 30),
      decided('4', 'prod-exports', 40),
      decided('5', 'prod-exports', 100),
      decided('6', 'infra-changes', 5),
      // Not an approver's decision: policy allowed it at once, it expired, or it was cancelled.
      decided('7', 'prod-exports', 0, { outcome: { status: 'approved', decidedBy: 'policy', at: at(0) } }),
      decided('8', 'prod-exports', 60, { outcome: { status: 'expired', decidedBy: 'timeout', at: at(60) } }),
      entry({ id: '9', rule: 'prod-exports', createdAt: at(0) }),
    ]);
    expect(times).toEqual([
      { rule: 'infra-changes', count: 1, min: 5, p25: 5, median: 5, p75: 5, p90: 5, max: 5 },
      { rule: 'prod-exports', count: 5, min: 10, p25: 20, median: 30, p75: 40, p90: 76, max: 100 },
    ]);
  });

  it('show time to decision in the unit it reads best in: seconds, minutes or hours', () => {
    const times = (max: number) => [{ rule: 'r', count: 2, min: max / 4, p25: max / 4, median: max / 2, p75: max / 2, p90: max, max }];
    expect(inReadableUnit(times(0.5))).toEqual({
      unit: 'seconds',
      times: [{ rule: 'r', count: 2, min: 7.5, p25: 7.5, median: 15, p75: 15, p90: 30, max: 30 }],
    });
    expect(inReadableUnit(times(40)).unit).toBe('minutes');
    expect(inReadableUnit(times(40)).times[0]!.median).toBe(20);
    expect(inReadableUnit(times(600))).toMatchObject({ unit: 'hours', times: [{ median: 5, max: 10 }] });
    expect(decisionTimesChart(times(0.5))).toMatchObject({ unit: 'seconds', datasets: [{ data: [[7.5, 30]] }, { data: [[7.5, 15]] }, { data: [15] }] });
  });

  it('bucket requests by the UTC day they were made, by outcome, with every day of the range', () => {
    const chart = requestsPerDay(
      [
        entry({ id: '1', createdAt: '2026-11-01T23:59:59.999Z', outcome: { status: 'approved', at: '2026-11-02T00:10:00.000Z' } }),
        entry({ id: '2', createdAt: '2026-11-02T00:00:00.000Z', outcome: { status: 'expired', decidedBy: 'timeout', at: '2026-11-02T01:00:00.000Z' } }),
        entry({ id: '3', createdAt: '2026-11-02T12:00:00.000Z' }),
        entry({ id: '4', createdAt: '2026-11-03T00:00:00.000Z', outcome: { status: 'denied', at: '2026-11-03T00:01:00.000Z' } }),
      ],
      { from: '2026-11-01', to: '2026-11-04' },
    );
    expect(chart.labels).toEqual(['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']);
    expect(Object.fromEntries(chart.datasets.map((d) => [d.label, d.data]))).toEqual({
      Approved: [1, 0, 0, 0],
      Denied: [0, 0, 1, 0],
      Expired: [0, 1, 0, 0],
      Cancelled: [0, 0, 0, 0],
      Pending: [0, 1, 0, 0],
    });
  });

  it('count expiries and reminders on the UTC day they happened, past the range end up to today', () => {
    const chart = expiriesAndReminders(
      [
        entry({
          id: '1',
          createdAt: '2026-11-03T23:30:00.000Z',
          reminded: ['2026-11-03T23:45:00.000Z', '2026-11-04T00:15:00.000Z'],
          outcome: { status: 'expired', decidedBy: 'timeout', at: '2026-11-04T00:30:00.000Z' },
        }),
      ],
      { from: '2026-11-02', to: '2026-11-03' },
      now,
    );
    expect(chart.labels).toEqual(['2026-11-02', '2026-11-03', '2026-11-04']);
    expect(chart.datasets.map((d) => d.data)).toEqual([
      [0, 0, 1],
      [0, 1, 1],
    ]);
  });

  it('count votes per person, joining aliases', () => {
    const rows = decisionsPerApprover(
      [
        entry({ id: '1', createdAt: '2026-11-03T00:00:00.000Z', votes: [{ approver: 'alice@example.com', decision: 'approve' }] }),
        entry({
          id: '2',
          createdAt: '2026-11-03T00:00:00.000Z',
          votes: [
            { approver: 'U0ALICE', decision: 'deny' },
            { approver: 'bob@example.com', decision: 'approve' },
          ],
        }),
      ],
      directory,
    );
    expect(rows).toEqual([
      { approver: 'alice@example.com', approve: 1, deny: 1 },
      { approver: 'bob@example.com', approve: 1, deny: 0 },
    ]);
  });

  it('carry chart data inside HTML so no value can end the script block, and read it back unchanged', () => {
    const value = { label: '</script><script>alert(1)</script><!-- & \u2028\u2029 -->', n: [1, 2] };
    const json = jsonForHtml(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('serve Chart.js from the npm package, imported as text as the bundles do', () => {
    expect(TEST_TEXT_IMPORTS).toEqual(TEXT_IMPORTS);
    expect(BUNDLING.alias).toMatchObject(TEXT_IMPORTS);
    expect(CONSOLE_ASSETS['chart.umd.min.js']).toContain('Chart.js v4.5.1');
    expect(CONSOLE_ASSETS['chart.umd.min.js']!.length).toBeGreaterThan(100_000);
    expect(CONSOLE_ASSETS['console-charts.js']).toContain('new window.Chart(');
  });
});
