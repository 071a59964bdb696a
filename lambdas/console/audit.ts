/**
 * The auditor's view (`GET /console/audit`): search and filters over the ledger's history (lambdas/app/history.ts),
 * the results a page at a time, and charts of the same selection. The form is a GET form that works without script;
 * each chart is drawn by the bundled Chart.js from a JSON block beside it, with a data table that is the chart for
 * readers without script or sight. A read that stops at the deadline says so.
 */
import { type HistoryEntry, readHistory } from '../app/history';
import { spanWords } from '../core/dates';
import { CountersignError } from '../core/errors';
import { escapeHtml } from '../core/html';
import type { IdentityDirectory } from '../core/identity';
import { renderTime, text } from '../pages/kit';
import { CHART_SCRIPTS } from './assets';
import {
  type ApproverDecisions,
  type AuditFilters,
  approversChart,
  type ChartData,
  type DecisionTimes,
  decisionsPerApprover,
  decisionTimes,
  decisionTimesChart,
  expiriesAndReminders,
  filterRequests,
  inReadableUnit,
  jsonForHtml,
  MAX_APPROVERS_CHARTED,
  PAGE_SIZE,
  parseAuditQuery,
  requestsPerDay,
  STATUSES,
  statusOf,
  windowOf,
} from './audit-data';
import { CONSOLE_WORK_MS, type ConsoleRoute } from './context';
import { consolePage } from './layout';

export const showAudit: ConsoleRoute = async (event, { ports, exportSource, viewer }) => {
  const query = event.queryStringParameters ?? {};
  const now = ports.clock.now();
  let filters: AuditFilters;
  try {
    filters = parseAuditQuery(query, now);
  } catch (err) {
    if (!(err instanceof CountersignError) || err.code !== 'invalid_request') throw err;
    // The form again, as entered, with what to fix: nothing was read.
    return consolePage(viewer, {
      title: 'Audit',
      section: 'audit',
      status: 400,
      body: `<h1>Audit</h1>
<div class="notice notice-error" role="alert" data-testid="error"><p>Check what you entered: ${text(err.message)}</p></div>
${filterForm(query)}`,
    });
  }
  const { since } = windowOf(filters);
  const history = await readHistory(exportSource(), { since, deadline: Date.now() + CONSOLE_WORK_MS });
  const directory = ports.policy.directory();
  const selected = filterRequests(history.requests, filters, directory);
  const charts = chartsOf(selected, filters, directory, now);
  const form = filterForm({ ...query, from: filters.from, to: filters.to });
  const partial = history.complete
    ? ''
    : `<div class="notice notice-info" role="status" data-testid="partial"><p>The ledger read stopped at the console’s time limit after ${history.records} records: the results and charts below show only part of this range. Choose a shorter date range, or use <code>countersign audit export</code> for everything.</p></div>`;
  return consolePage(viewer, {
    title: 'Audit',
    section: 'audit',
    body: `<h1>Audit</h1>
${form}
${partial}
${results(selected, filters, query, now)}
${charts}`,
    scripts: CHART_SCRIPTS,
    css: AUDIT_CSS,
  });
};

function filterForm(values: Readonly<Record<string, string | undefined>>): string {
  const value = (name: string) => escapeHtml((values[name] ?? '').slice(0, 300));
  const field = (name: string, label: string, hint: string, type = 'text') =>
    `<label for="f-${name}">${label}<input id="f-${name}" name="${name}" type="${type}" value="${value(name)}" autocomplete="off"${hint ? ` placeholder="${escapeHtml(hint)}"` : ''} data-testid="filter-${name}"></label>`;
  const options = ['', ...STATUSES]
    .map((s) => `<option value="${s}"${values.status === s ? ' selected' : ''}>${s === '' ? 'Any status' : s[0]!.toUpperCase() + s.slice(1)}</option>`)
    .join('');
  return `<section aria-labelledby="filters-heading">
<h2 id="filters-heading">Search the ledger</h2>
<form method="get" action="/console/audit" class="filters" role="search" data-testid="audit-filters">
<label for="f-status">Status<select id="f-status" name="status" data-testid="filter-status">${options}</select></label>
${field('rule', 'Rule', 'e.g. prod-exports or prod-*')}
${field('action', 'Action', 'e.g. data.export or db.*')}
${field('requester', 'Requester', 'a person, an ARN or a glob')}
${field('approver', 'Approver', 'someone who voted')}
${field('from', 'From (UTC day)', 'YYYY-MM-DD', 'date')}
${field('to', 'To (UTC day, included)', 'YYYY-MM-DD', 'date')}
<button type="submit" class="button-primary" data-testid="search">Search</button>
</form>
<p class="hint">Text matches as policy compares it (case, full-width letters and hidden characters aside); <code>*</code> matches any run. People match under any of their aliases. Dates default to the last 30 days.</p>
</section>`;
}

function results(selected: readonly HistoryEntry[], filters: AuditFilters, query: Readonly<Record<string, string | undefined>>, now: Date): string {
  const pages = Math.max(1, Math.ceil(selected.length / PAGE_SIZE));
  const page = Math.min(filters.page, pages);
  // Newest first.
  const rows = [...selected]
    .reverse()
    .slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)
    .map((entry) => resultRow(entry, now))
    .join('\n');
  const range = `${escapeHtml(filters.from)} to ${escapeHtml(filters.to)} (UTC)`;
  const count = `<p data-testid="result-count"><strong>${selected.length}</strong> request${selected.length === 1 ? '' : 's'} made ${range}${
    selected.length > PAGE_SIZE ? `; showing ${(page - 1) * PAGE_SIZE + 1}–${Math.min(page * PAGE_SIZE, selected.length)}, newest first` : ''
  }.</p>`;
  const link = (to: number, label: string, rel: string) => {
    const params = new URLSearchParams(
      Object.entries({ ...query, from: filters.from, to: filters.to, page: String(to) }).filter((e): e is [string, string] => !!e[1]),
    );
    return `<a href="/console/audit?${escapeHtml(params.toString())}" rel="${rel}" data-testid="page-${rel}">${label}</a>`;
  };
  const paging =
    pages > 1
      ? `<nav aria-label="Result pages" class="paging"><span>Page ${page} of ${pages}</span>${page > 1 ? link(page - 1, 'Newer', 'prev') : ''}${page < pages ? link(page + 1, 'Older', 'next') : ''}</nav>`
      : '';
  const table = selected.length
    ? `<div class="table-wrap"><table class="results" data-testid="results">
<caption class="sr">Requests that match the filters, newest first</caption>
<thead><tr><th scope="col">Made</th><th scope="col">Action</th><th scope="col">Rule</th><th scope="col">Status</th><th scope="col">Requester</th><th scope="col">Votes</th><th scope="col">Decided in</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>`
    : '<p class="none" data-testid="no-results">No request matches.</p>';
  return `<section aria-labelledby="results-heading">
<h2 id="results-heading">Requests</h2>
${count}
${table}
${paging}
</section>`;
}

function resultRow(entry: HistoryEntry, now: Date): string {
  const { state } = entry;
  const status = statusOf(entry);
  const votes = state.votes.length
    ? state.votes.map((v) => `<span class="vote-${v.decision}"><bdi>${text(v.approver)}</bdi>: ${v.decision}</span>`).join('<br>')
    : '<span class="none">none</span>';
  const decidedIn = state.outcome ? escapeHtml(spanWords(Date.parse(state.outcome.at) - Date.parse(state.createdAt))) : '<span class="none">—</span>';
  const resource = state.request.resource ? `<br><span class="hint"><bdi>${text(state.request.resource)}</bdi></span>` : '';
  return `<tr data-testid="result" data-request-id="${escapeHtml(state.id)}">
<td>${renderTime(state.createdAt, 'result-created', now)}</td>
<td><a href="/console/requests/${escapeHtml(encodeURIComponent(state.id))}"><code>${text(state.request.action)}</code></a>${resource}</td>
<td>${state.policy ? `<bdi>${text(state.policy.rule)}</bdi>` : '<span class="none">—</span>'}</td>
<td><span class="status status-${status}">${status}</span></td>
<td><bdi>${text(state.requester)}</bdi>${state.request.onBehalfOf ? `<br><span class="hint">for <bdi>${text(state.request.onBehalfOf)}</bdi></span>` : ''}</td>
<td>${votes}</td>
<td>${decidedIn}</td>
</tr>`;
}

function chartsOf(selected: readonly HistoryEntry[], filters: AuditFilters, directory: IdentityDirectory, now: Date): string {
  const times = decisionTimes(selected);
  const approvers = decisionsPerApprover(selected, directory);
  return `<h2 class="charts-heading">Charts of these requests</h2>
<div class="charts">
${chart(requestsPerDay(selected, filters), seriesTable)}
${times.length ? chart(decisionTimesChart(times), () => timesTable(times)) : emptyChart('time-to-decision', 'Time to decision per rule', 'No request in this selection was decided by approvers.')}
${approvers.length ? chart(approversChart(approvers), () => approversTable(approvers)) : emptyChart('decisions-per-approver', 'Decisions per approver', 'Nobody voted on a request in this selection.')}
${chart(expiriesAndReminders(selected, filters, now), seriesTable)}
</div>`;
}

/** A chart: its canvas (drawn by the chart script), its data as JSON, and its data table, open until the chart is drawn. */
function chart(data: ChartData, table: (data: ChartData) => string): string {
  const id = escapeHtml(data.id);
  return `<section class="chart" aria-labelledby="chart-${id}-title" data-testid="chart-${id}">
<h3 id="chart-${id}-title">${escapeHtml(data.title)}</h3>
<div class="chart-box"><canvas data-chart="chart-${id}-data" data-table="chart-${id}-table" role="img" aria-label="${escapeHtml(`${data.title}: a chart; its data table follows`)}"></canvas></div>
<details open id="chart-${id}-table" class="chart-table"><summary>Data table</summary>${table(data)}</details>
<script type="application/json" id="chart-${id}-data">${jsonForHtml(data)}</script>
</section>`;
}

function emptyChart(id: string, title: string, why: string): string {
  return `<section class="chart" aria-labelledby="chart-${id}-title" data-testid="chart-${id}">
<h3 id="chart-${id}-title">${escapeHtml(title)}</h3>
<p class="none">${escapeHtml(why)}</p>
</section>`;
}

/** A chart's labels down, its datasets across. */
function seriesTable(data: ChartData): string {
  const head = data.datasets.map((d) => `<th scope="col">${escapeHtml(d.label)}</th>`).join('');
  const rows = data.labels
    .map((label, i) => `<tr><th scope="row">${text(label)}</th>${data.datasets.map((d) => `<td>${escapeHtml(String(d.data[i] ?? ''))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="table-wrap"><table data-testid="chart-table-${escapeHtml(data.id)}"><caption class="sr">${escapeHtml(data.title)}</caption>
<thead><tr><th scope="col">Day</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></div>`;
}

function timesTable(minutes: readonly DecisionTimes[]): string {
  const { unit, times } = inReadableUnit(minutes);
  const rows = times
    .map(
      (t) =>
        `<tr><th scope="row"><bdi>${text(t.rule)}</bdi></th><td>${t.count}</td><td>${t.min}</td><td>${t.p25}</td><td>${t.median}</td><td>${t.p75}</td><td>${t.p90}</td><td>${t.max}</td></tr>`,
    )
    .join('\n');
  return `<div class="table-wrap"><table data-testid="chart-table-time-to-decision"><caption class="sr">Time to decision per rule, in ${unit}</caption>
<thead><tr><th scope="col">Rule</th><th scope="col">Decided</th><th scope="col">Fastest</th><th scope="col">25th pct</th><th scope="col">Median</th><th scope="col">75th pct</th><th scope="col">90th pct</th><th scope="col">Slowest</th></tr></thead><tbody>
${rows}
</tbody></table></div><p class="hint">${unit[0]!.toUpperCase()}${unit.slice(1)} from the request to the approvers’ decision, for requests approvers approved or denied.</p>`;
}

function approversTable(rows: readonly ApproverDecisions[]): string {
  const body = rows.map((r) => `<tr><th scope="row"><bdi>${text(r.approver)}</bdi></th><td>${r.approve}</td><td>${r.deny}</td></tr>`).join('\n');
  const more =
    rows.length > MAX_APPROVERS_CHARTED
      ? `<p class="hint">The chart shows the ${MAX_APPROVERS_CHARTED} with the most votes; the table has all ${rows.length}.</p>`
      : '';
  return `<div class="table-wrap"><table data-testid="chart-table-decisions-per-approver"><caption class="sr">Votes per approver</caption>
<thead><tr><th scope="col">Approver</th><th scope="col">Approve</th><th scope="col">Deny</th></tr></thead><tbody>
${body}
</tbody></table></div>${more}`;
}

/** The audit page's additions to the console's stylesheet: the charts' boxes and the result pages' links. */
export const AUDIT_CSS = `
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));gap:0 1rem}
.charts-heading{margin-top:1.4rem}
.chart h3{margin-top:0}
.chart-box{position:relative;height:17rem}
.chart-table{margin-top:.6rem}
.chart-table summary{cursor:pointer;color:#1d3f7a;font-weight:600}
.chart-table table{font-size:.8rem}
.results .status{white-space:nowrap}
.paging{display:flex;gap:1rem;align-items:center;margin-top:.6rem}
.filters button{width:100%}
`;
