/**
 * `countersign policy shadow-report`: what the shadow rules would have done to real traffic, from the ledger's
 * `policy_decided` records of a window (read through `GET /v1/audit/export`, as `audit export` does: auditors only).
 */
import { parseArgs } from 'node:util';
import { isoTimeMs } from '../lambdas/core/dates';
import { parseDuration } from '../lambdas/core/duration';
import { type ShadowReport, type ShadowRuleReport, shadowReport } from '../lambdas/core/shadow-report';
import { exportLedger } from './audit-export';
import { type CliIo, CONNECTION_USAGE, connectionOptions, EXIT, endpointOf, exitCodeOf, neutralize, out, shownTime, UsageError } from './connection';

export const SHADOW_REPORT_USAGE = `usage: countersign policy shadow-report [--since 7d] [--until <time>] [--json] [--url <url>] [--api-key <key>]

  What each shadow rule (mode: shadow) would have done to the requests decided in a window: how many it matched,
  how many it would have allowed, denied or sent for approval (or could not judge, which enforced would refuse),
  what the deciding rule did instead, and who it would have asked. Reads the ledger (auditors only:
  GET /v1/audit/export); it does not verify it (countersign audit verify does).
  --since <when>   the window's start: a duration back from now (30m, 24h, 7d) or an ISO 8601 time (default 7d)
  --until <when>   the window's end, the same way (default: now)
  --json           print the report as one JSON document:
                   {"since", "until"?, "exportedAt", "requests", "unreadable", "rules": [{"rule", "matched",
                   "wouldHave": {"allow", "deny", "require_approval", "notJudged"}, "differs",
                   "actually": [{"rule", "effect", "byGrant"?, "requests"}], "wouldAsk": [{"approver", "requests", "notAlreadyAsked"}],
                   "examples": [request ids]}]}

  exit codes: 0 reported (also when no shadow rule matched); 2 usage error; 3 the API could not be reached or
  refused (e.g. forbidden: not an auditor)

${CONNECTION_USAGE}`;

/** A moment given as a duration back from `now` (`7d`) or an ISO 8601 time, as the export takes it. */
export function windowTime(name: string, value: string, now: Date): string {
  const seconds = parseDuration(value);
  if (seconds !== undefined) return new Date(now.getTime() - seconds * 1000).toISOString();
  const ms = isoTimeMs(value);
  if (ms === undefined) throw new UsageError(`--${name} is neither a duration (30m, 24h, 7d) nor an ISO 8601 time with its zone: ${value}`);
  return new Date(ms).toISOString();
}

export async function shadowReportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { since: { type: 'string', default: '7d' }, until: { type: 'string' }, json: { type: 'boolean', default: false }, ...connectionOptions },
    });
    const now = new Date();
    const since = windowTime('since', values.since, now);
    const until = values.until === undefined ? undefined : windowTime('until', values.until, now);
    if (until !== undefined && since > until) throw new UsageError(`--since (${since}) is after --until (${until})`);
    // Only the decisions are kept: a window's export may be large, and the report reads nothing else.
    const decisions: unknown[] = [];
    const { header } = await exportLedger(endpointOf(values, io.env), { since, until }, (line) => {
      const item: unknown = JSON.parse(line);
      if ((item as { type?: unknown } | null)?.type === 'policy_decided') decisions.push(item);
    });
    const report = shadowReport(decisions);
    if (values.json) out(io, JSON.stringify({ since, ...(until ? { until } : {}), exportedAt: header.exportedAt, ...report }));
    else out(io, shadowReportLines(report, { since, until: until ?? header.exportedAt }).join('\n'));
    return EXIT.ok;
  } catch (e) {
    return exitCodeOf(io, e, { command: 'policy shadow-report', usageHint: '(countersign policy shadow-report --help for usage)', json, usageAsJson: true });
  }
}

const EFFECT_COLUMNS = [
  ['ALLOW', 'allow'],
  ['DENY', 'deny'],
  ['APPROVAL', 'require_approval'],
  ['NOT JUDGED', 'notJudged'],
] as const;

/**
 * The report for a terminal: a table of every shadow rule, then each rule's details. Everything from the ledger is
 * neutralized (a record's text could hold control or hidden characters).
 */
export function shadowReportLines(report: ShadowReport, window: { readonly since: string; readonly until: string }): string[] {
  const lines: string[] = [];
  const span = `from ${shownTime(window.since)} to ${shownTime(window.until)}`;
  if (report.unreadable > 0) lines.push(`warning: ${report.unreadable} policy_decided records could not be read; countersign audit verify says why`);
  if (report.requests === 0) return [...lines, `shadow rules ${span}: no request was decided`];
  const decided = `${report.requests} request${report.requests === 1 ? '' : 's'} decided`;
  if (report.rules.length === 0) return [...lines, `shadow rules ${span}: none matched any of the ${decided}`];
  lines.push(`shadow rules ${span}: ${decided}`, '');
  const header = ['RULE', 'MATCHED', ...EFFECT_COLUMNS.map(([title]) => title), 'DIFFERS'];
  const rows = report.rules.map((r) => [
    neutralize(r.rule),
    String(r.matched),
    ...EFFECT_COLUMNS.map(([, key]) => String(r.wouldHave[key])),
    String(r.differs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) lines.push(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  for (const rule of report.rules) lines.push('', ...ruleLines(rule));
  return lines;
}

function ruleLines(rule: ShadowRuleReport): string[] {
  const actually = rule.actually.map((a) => `${a.byGrant ? 'approved by a grant' : a.effect} ${a.requests} (rule ${neutralize(a.rule)})`).join(', ');
  const asks = rule.wouldAsk.map((a) => `${neutralize(a.approver)} ${a.requests}${a.notAlreadyAsked > 0 ? ` (${a.notAlreadyAsked} not already asked)` : ''}`);
  return [
    neutralize(rule.rule),
    `  actually      ${actually}`,
    `  would ask     ${asks.length > 0 ? asks.join(', ') : 'nobody'}`,
    `  for example   ${rule.examples.map(neutralize).join(', ')}`,
  ];
}
