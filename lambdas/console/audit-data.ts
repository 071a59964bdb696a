/**
 * What the auditor's page computes, pure: its filters read from the query string, which requests they select (in
 * the canonical form policy compares text in, people through the directory), and the charts' figures from the same
 * requests: requests per day by outcome, time to decision per rule, decisions per approver, expiries and reminders
 * per day. Days are UTC days (`2026-11-29`), as the date range names them.
 */
import type { HistoryEntry } from '../app/history';
import { statusOf as stateStatus } from '../core/approval';
import { dayStart } from '../core/dates';
import { CountersignError } from '../core/errors';
import type { IdentityDirectory } from '../core/identity';
import { globMatches } from '../core/policy';
import { canonicalText, markHidden } from '../core/text';
import * as z from '../core/zod';

export const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];

/** The default date range: the last 30 days, today included. */
export const DEFAULT_DAYS = 30;
/** The longest date range one page reads. */
export const MAX_DAYS = 366;
/** Rows of results on one page. */
export const PAGE_SIZE = 50;
/** Approvers one chart shows (the most decisions first); the table beside it says how many more there are. */
export const MAX_APPROVERS_CHARTED = 20;

const DAY_MS = 86_400_000;

export interface AuditFilters {
  readonly status?: Status | undefined;
  readonly rule?: string | undefined;
  readonly action?: string | undefined;
  /** A person (any alias, any spelling) or a glob: the request's requester, or whom it was made on behalf of. */
  readonly requester?: string | undefined;
  /** A person or a glob: someone who voted on the request. */
  readonly approver?: string | undefined;
  /** First UTC day of the range (`YYYY-MM-DD`). */
  readonly from: string;
  /** Last UTC day of the range, included. */
  readonly to: string;
  /** 1-based page of results. */
  readonly page: number;
}

const text = z.optional(z.string().check(z.maxLength(256, 'at most 256 characters')));
const day = z.optional(z.string().check(z.refine((value) => dayStart(value) !== undefined, { message: 'not a date: use YYYY-MM-DD, e.g. 2026-11-01' })));
const querySchema = z.object({
  status: z.optional(z.enum(STATUSES, { message: `expected one of ${STATUSES.join(', ')}` })),
  rule: text,
  action: text,
  requester: text,
  approver: text,
  from: day,
  to: day,
  page: z.optional(z.string().check(z.regex(/^[1-9]\d{0,5}$/, 'a page number: 1, 2, …'))),
});

/** The epoch ms a `YYYY-MM-DD` UTC day starts, or undefined when it is no calendar day (2026-02-30). */

export const dayOf = (ms: number | string): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The filters a query string asks for. Empty fields are not given (a GET form sends every field); dates default to
 * the last 30 days. A value that cannot be read is `invalid_request`, naming each field.
 */
export function parseAuditQuery(query: Readonly<Record<string, string | undefined>>, now: Date): AuditFilters {
  const given = Object.fromEntries(Object.entries(query).filter(([key, value]) => key in querySchema.shape && value !== undefined && value.trim() !== ''));
  const parsed = querySchema.safeParse(Object.fromEntries(Object.entries(given).map(([key, value]) => [key, value!.trim()])));
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    throw new CountersignError('invalid_request', details.map((d) => `${d.path}: ${d.message}`).join('; '), details);
  }
  const values = parsed.data;
  const to = values.to ?? dayOf(now.getTime());
  const from = values.from ?? dayOf(dayStart(to)! - (DEFAULT_DAYS - 1) * DAY_MS);
  const days = (dayStart(to)! - dayStart(from)!) / DAY_MS + 1;
  if (days < 1) throw new CountersignError('invalid_request', `from: ${from} is after to: ${to}`, [{ path: 'from', message: 'after to' }]);
  if (days > MAX_DAYS) {
    throw new CountersignError('invalid_request', `the date range is ${days} days: choose at most ${MAX_DAYS}`, [{ path: 'from', message: 'range too long' }]);
  }
  return {
    status: values.status,
    rule: values.rule,
    action: values.action,
    requester: values.requester,
    approver: values.approver,
    from,
    to,
    page: values.page === undefined ? 1 : Number(values.page),
  };
}

/** The ledger window the filters read: `since` the range's first moment, `until` its last (ISO, as stored). */
export function windowOf(filters: Pick<AuditFilters, 'from' | 'to'>): { since: string; until: string } {
  return { since: new Date(dayStart(filters.from)!).toISOString(), until: new Date(dayStart(filters.to)! + DAY_MS - 1).toISOString() };
}

export const statusOf = (entry: HistoryEntry): Status => stateStatus(entry.state);

/** A text filter: the same canonical text (full-width, hidden characters and case folded away), or a `*` glob. */
export function textMatches(filter: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return filter.includes('*') ? globMatches(filter, value) : canonicalText(filter) === canonicalText(value);
}

/** A person filter: the same person under any alias and spelling (as policy sees them), or a `*` glob. */
function personMatches(filter: string, identities: ReadonlyArray<string | undefined>, directory: IdentityDirectory, self: boolean): boolean {
  if (filter.includes('*')) return identities.some((identity) => identity !== undefined && globMatches(filter, identity));
  return self ? directory.isOneOf(filter, identities) : directory.isAnyOf(filter, identities);
}

/** The requests the filters select, oldest first. */
export function filterRequests(entries: readonly HistoryEntry[], filters: AuditFilters, directory: IdentityDirectory): HistoryEntry[] {
  const { since, until } = windowOf(filters);
  return entries.filter((entry) => {
    const { state } = entry;
    if (state.createdAt < since || state.createdAt > until) return false;
    if (filters.status && statusOf(entry) !== filters.status) return false;
    if (filters.rule && !textMatches(filters.rule, state.policy?.rule)) return false;
    if (filters.action && !textMatches(filters.action, state.request.action)) return false;
    if (filters.requester && !personMatches(filters.requester, [state.requester, state.request.onBehalfOf], directory, true)) return false;
    if (
      filters.approver &&
      !personMatches(
        filters.approver,
        state.votes.map((v) => v.approver),
        directory,
        false,
      )
    )
      return false;
    return true;
  });
}

/** One chart: what the console's chart script draws, and the table beside it shows. */
export interface ChartData {
  readonly id: string;
  /** Stacked bars, grouped bars, or floating bars (a range per label, with a marked middle value). */
  readonly kind: 'stacked' | 'bars' | 'range';
  readonly title: string;
  /** What the numbers are (the value axis). */
  readonly unit: string;
  readonly labels: readonly string[];
  readonly datasets: ReadonlyArray<{
    readonly label: string;
    readonly color: string;
    /** A number per label; for `range` charts a [low, high] pair (or a single marked value for the `point` dataset). */
    readonly data: ReadonlyArray<number | readonly [number, number] | null>;
    /** Drawn as points on top of the bars (the median of a range chart). */
    readonly point?: boolean;
  }>;
}

/** Colours with at least 3:1 contrast on white (WCAG's for graphics), told apart by more than hue alone. */
const COLORS = { approved: '#1a7f37', denied: '#b42318', expired: '#6e5a00', cancelled: '#5b6472', pending: '#2f6feb', reminders: '#8250df' } as const;

/** Every UTC day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = dayStart(from)!; ms <= dayStart(to)!; ms += DAY_MS) days.push(dayOf(ms));
  return days;
}

/** Requests per day (the day each was made) by outcome, stacked. */
export function requestsPerDay(entries: readonly HistoryEntry[], filters: Pick<AuditFilters, 'from' | 'to'>): ChartData {
  const labels = daysBetween(filters.from, filters.to);
  const index = new Map(labels.map((d, i) => [d, i]));
  const counts = Object.fromEntries(STATUSES.map((s) => [s, labels.map(() => 0)])) as Record<Status, number[]>;
  for (const entry of entries) {
    const i = index.get(dayOf(entry.state.createdAt));
    if (i !== undefined) counts[statusOf(entry)][i]! += 1;
  }
  const order: Status[] = ['approved', 'denied', 'expired', 'cancelled', 'pending'];
  return {
    id: 'requests-per-day',
    kind: 'stacked',
    title: 'Requests per day by outcome',
    unit: 'requests',
    labels,
    datasets: order.map((status) => ({ label: status[0]!.toUpperCase() + status.slice(1), color: COLORS[status], data: counts[status] })),
  };
}

/** The q-quantile (0..1) of sorted numbers, linearly between the two nearest ranks (as R's type 7 and NumPy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export interface DecisionTimes {
  readonly rule: string;
  /** Minutes from the request to its decision, each quantile. */
  readonly count: number;
  readonly min: number;
  readonly p25: number;
  readonly median: number;
  readonly p75: number;
  readonly p90: number;
  readonly max: number;
}

/**
 * Time to decision per rule: for each request approvers decided (approved or denied by votes), the minutes from
 * the request to its outcome; per rule the quantiles of those. Policy's own instant decisions, expiries and
 * cancellations are no approver's decision time and are left out.
 */
export function decisionTimes(entries: readonly HistoryEntry[]): DecisionTimes[] {
  const byRule = new Map<string, number[]>();
  for (const { state } of entries) {
    const outcome = state.outcome;
    if (outcome?.decidedBy !== 'approvers' || (outcome.status !== 'approved' && outcome.status !== 'denied')) continue;
    const minutes = (Date.parse(outcome.at) - Date.parse(state.createdAt)) / 60_000;
    if (!Number.isFinite(minutes)) continue;
    const rule = state.policy?.rule ?? '(no rule)';
    byRule.set(rule, [...(byRule.get(rule) ?? []), Math.max(0, minutes)]);
  }
  return [...byRule.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([rule, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q: number) => round(quantile(sorted, q));
      return { rule, count: sorted.length, min: at(0), p25: at(0.25), median: at(0.5), p75: at(0.75), p90: at(0.9), max: at(1) };
    });
}

const round = (n: number) => Math.round(n * 100) / 100;

export type TimeUnit = 'seconds' | 'minutes' | 'hours';

/**
 * The unit the times read best in: seconds when every slowest decision took under two minutes (a chart in minutes
 * would show them all as 0), hours when one took over three hours, else minutes. Answers the times in that unit.
 */
export function inReadableUnit(times: readonly DecisionTimes[]): { unit: TimeUnit; times: DecisionTimes[] } {
  const slowest = Math.max(0, ...times.map((t) => t.max));
  const [unit, factor]: [TimeUnit, number] = slowest < 2 ? ['seconds', 60] : slowest > 180 ? ['hours', 1 / 60] : ['minutes', 1];
  const scale = (n: number) => round(n * factor);
  return {
    unit,
    times: times.map((t) => ({ ...t, min: scale(t.min), p25: scale(t.p25), median: scale(t.median), p75: scale(t.p75), p90: scale(t.p90), max: scale(t.max) })),
  };
}

export function decisionTimesChart(minutes: readonly DecisionTimes[]): ChartData {
  const { unit, times } = inReadableUnit(minutes);
  return {
    id: 'time-to-decision',
    kind: 'range',
    title: 'Time to decision per rule',
    unit,
    labels: times.map((t) => label(t.rule)),
    datasets: [
      { label: 'Fastest to slowest', color: '#9aa3b2', data: times.map((t) => [t.min, t.max] as const) },
      { label: 'Middle half (25th to 75th percentile)', color: '#2f6feb', data: times.map((t) => [t.p25, t.p75] as const) },
      { label: 'Median', color: '#1d2330', data: times.map((t) => t.median), point: true },
    ],
  };
}

export interface ApproverDecisions {
  readonly approver: string;
  readonly approve: number;
  readonly deny: number;
}

/** Votes per person (aliases joined through the directory), the most first. */
export function decisionsPerApprover(entries: readonly HistoryEntry[], directory: IdentityDirectory): ApproverDecisions[] {
  const counts = new Map<string, { approve: number; deny: number }>();
  for (const { state } of entries) {
    for (const vote of state.votes) {
      const person = directory.personOf(vote.approver) ?? vote.approver;
      const count = counts.get(person) ?? { approve: 0, deny: 0 };
      count[vote.decision] += 1;
      counts.set(person, count);
    }
  }
  return [...counts.entries()]
    .map(([approver, c]) => ({ approver, ...c }))
    .sort((a, b) => b.approve + b.deny - (a.approve + a.deny) || (a.approver < b.approver ? -1 : 1));
}

export function approversChart(rows: readonly ApproverDecisions[]): ChartData {
  const shown = rows.slice(0, MAX_APPROVERS_CHARTED);
  return {
    id: 'decisions-per-approver',
    kind: 'bars',
    title: 'Decisions per approver',
    unit: 'votes',
    labels: shown.map((r) => label(r.approver)),
    datasets: [
      { label: 'Approve', color: COLORS.approved, data: shown.map((r) => r.approve) },
      { label: 'Deny', color: COLORS.denied, data: shown.map((r) => r.deny) },
    ],
  };
}

/**
 * Expiries (the day each request expired) and reminders (the day each was sent) per day, for the selected requests.
 * The days run from the range's first to its last, or to the last day one happened on (a request made on the range's
 * last day may expire the day after), never past today.
 */
export function expiriesAndReminders(entries: readonly HistoryEntry[], filters: Pick<AuditFilters, 'from' | 'to'>, now: Date): ChartData {
  const expiries: string[] = [];
  const reminders: string[] = [];
  for (const { state, chain } of entries) {
    if (state.outcome?.status === 'expired') expiries.push(dayOf(state.outcome.at));
    for (const record of chain) if (record.type === 'reminded') reminders.push(dayOf(record.at));
  }
  const today = dayOf(now.getTime());
  const last =
    [...expiries, ...reminders]
      .filter((d) => d > filters.to && d <= today)
      .sort()
      .at(-1) ?? filters.to;
  const labels = daysBetween(filters.from, last);
  const index = new Map(labels.map((d, i) => [d, i]));
  const tally = (days: readonly string[]) => {
    const counts = labels.map(() => 0);
    for (const d of days) {
      const i = index.get(d);
      if (i !== undefined) counts[i]! += 1;
    }
    return counts;
  };
  return {
    id: 'expiries-reminders',
    kind: 'bars',
    title: 'Expiries and reminders per day',
    unit: 'count',
    labels,
    datasets: [
      { label: 'Expired', color: COLORS.expired, data: tally(expiries) },
      { label: 'Reminders sent', color: COLORS.reminders, data: tally(reminders) },
    ],
  };
}

/** A label drawn on a canvas (no markup there): hidden characters shown as `[U+XXXX]`, long text cut. */
function label(value: string): string {
  const marked = markHidden(value);
  return marked.length > 60 ? `${marked.slice(0, 59)}…` : marked;
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` as \u escapes, so no value can close the
 * element or open a comment, and U+2028/U+2029 too. `JSON.parse` of the block's text gives the value back.
 */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
