/**
 * Ledger health (`GET /console/ledger`), a verify of the whole ledger run from the page (`POST /console/ledger/verify`)
 * and the export download (`GET /console/ledger/export`).
 *
 * Verify and download run the sealed export in-process, page by page as `countersign audit export` asks the API for
 * it (lambdas/app/export.ts `sealedPage`), and write the same lines: the header, every item, the seal. Verify then
 * judges them as `countersign audit verify` does (lambdas/core/ledger-verify.ts), with the ledger's public key. A
 * ledger too big to read (and verify) inside the console's time, or an export too big for one Lambda answer (6 MB),
 * is never cut short: the page says so and points to the CLI, which pages through any size.
 */
import { createPublicKey } from 'node:crypto';
import type { HttpResult } from '../adapters/http';
import { sealedPage } from '../app/export';
import { dayStart, formatUtc, isoTimeMs, spanWords } from '../core/dates';
import { CountersignError } from '../core/errors';
import { escapeHtml } from '../core/html';
import {
  DEFAULT_MAX_CHECKPOINT_AGE_SECONDS,
  type ExportHeader,
  exportHeader,
  FINDING_KINDS,
  type LedgerReport,
  verifyLedgerLines,
} from '../core/ledger-verify';
import type { LedgerExportSource } from '../core/ports';
import { renderTime, text } from '../pages/kit';
import { CONSOLE_WORK_MS, type ConsoleContext, type ConsoleRoute } from './context';
import { consolePage } from './layout';
import { checkForm, formOf, type Viewer } from './viewer';

/** Of the console's time, what verify spends reading the export; the rest is for checking it. */
export const VERIFY_READ_MS = 12_000;
/**
 * The most export lines verify checks in the time left after reading (records, checkpoints, leaf pages): about
 * 16,000 records/s on one core (README "Performance"), and a 1 GB console function has less than one.
 */
export const VERIFY_MAX_LINES = 50_000;
/**
 * The largest export the download answers, as Lambda's JSON answer encodes it (quotes escaped): Lambda answers at most
 * 6 MB, and the answer's headers and envelope need room.
 */
export const DOWNLOAD_MAX_BYTES = 5 * 1024 * 1024;

const CLI_HINT = '<code>countersign audit export --out ledger.jsonl &amp;&amp; countersign audit verify --file ledger.jsonl</code>';

export const showLedger: ConsoleRoute = async (_event, context) => ledgerPage(context, await healthOf(context));

export const verifyLedger: ConsoleRoute = async (event, context) => {
  checkForm(event, context.viewer, formOf(event));
  const health = await healthOf(context);
  const started = Date.now();
  const exported = await exportLines(context, {}, { deadline: started + VERIFY_READ_MS, maxLines: VERIFY_MAX_LINES });
  if (!exported.done) {
    const why =
      exported.stopped === 'lines'
        ? `it holds more than ${VERIFY_MAX_LINES.toLocaleString('en-US')} lines`
        : `reading it took longer than the ${VERIFY_READ_MS / 1000} seconds the console has (${exported.lines.length.toLocaleString('en-US')} lines read)`;
    return ledgerPage(
      context,
      health,
      `<section aria-labelledby="verify-result" data-testid="verify-too-big"><h2 id="verify-result">The ledger is too big to verify here</h2>
<div class="notice notice-info" role="status"><p>Nothing was judged: ${escapeHtml(why)}. A verify from the console must finish inside one web request. Verify it with the CLI, which pages through a ledger of any size:</p><p>${CLI_HINT}</p></div></section>`,
    );
  }
  const report = verifyLedgerLines(exported.lines, createPublicKey(await context.ports.signer.publicKeyPem()), {
    maxCheckpointAgeSeconds: DEFAULT_MAX_CHECKPOINT_AGE_SECONDS,
  });
  return ledgerPage(context, health, reportHtml(report, Date.now() - started));
};

const windowSchemaProblem = (name: string, value: string) =>
  new CountersignError('invalid_request', `${name}: not a time: "${value}" (use a date, e.g. 2026-11-01, or an ISO 8601 time)`, [
    { path: name, message: 'not a time' },
  ]);

/** `since`/`until` of the download form: a UTC day (its first, or for `until` its last, moment) or an ISO time. */
export function exportWindowOf(query: Readonly<Record<string, string | undefined>>): { since?: string; until?: string } {
  const read = (name: 'since' | 'until'): string | undefined => {
    const value = (query[name] ?? '').trim();
    if (value === '') return undefined;
    if (value.length > 64) throw windowSchemaProblem(name, value.slice(0, 64));
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      const start = dayStart(value);
      if (start === undefined) throw windowSchemaProblem(name, value);
      return new Date(name === 'since' ? start : start + 86_400_000 - 1).toISOString();
    }
    // An ISO 8601 time with its zone, as the API takes it, whose every field is in range.
    const ms = isoTimeMs(value);
    if (ms === undefined) throw windowSchemaProblem(name, value);
    return new Date(ms).toISOString();
  };
  const since = read('since');
  const until = read('until');
  if (since && until && since > until) throw new CountersignError('invalid_request', 'since is after until', [{ path: 'since', message: 'after until' }]);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

export const downloadExport: ConsoleRoute = async (event, context) => {
  const query = event.queryStringParameters ?? {};
  let window: { since?: string; until?: string };
  try {
    window = exportWindowOf(query);
  } catch (err) {
    if (!(err instanceof CountersignError) || err.code !== 'invalid_request') throw err;
    return ledgerPage(context, await healthOf(context), exportProblem(`Check what you entered: ${err.message}`), 400, query);
  }
  const exported = await exportLines(context, window, { deadline: Date.now() + CONSOLE_WORK_MS, maxEncodedBytes: DOWNLOAD_MAX_BYTES });
  if (!exported.done) {
    const why =
      exported.stopped === 'bytes'
        ? `it is more than a web answer can carry (about ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB)`
        : `reading it took longer than the ${CONSOLE_WORK_MS / 1000} seconds the console has`;
    return ledgerPage(
      context,
      await healthOf(context),
      `<section aria-labelledby="export-result" data-testid="export-too-big"><h2 id="export-result">That export is too big to download here</h2>
<div class="notice notice-info" role="status"><p>Nothing was downloaded: ${escapeHtml(why)}. Choose a shorter window, or export with the CLI, which pages through a ledger of any size:</p><p><code>countersign audit export${window.since ? ` --since ${escapeHtml(window.since)}` : ''}${window.until ? ` --until ${escapeHtml(window.until)}` : ''} --out ledger.jsonl</code></p></div></section>`,
      200,
      query,
    );
  }
  const stamp = exported.header.exportedAt.replace(/[:.]/g, '-');
  return {
    statusCode: 200,
    headers: {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="countersign-ledger-${stamp}.jsonl"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; sandbox",
    },
    body: exported.body,
  };
};

interface ExportLimits {
  /** Epoch ms: no page starts after it, and a page in hand ends by it. */
  readonly deadline: number;
  /** Stop past this many lines. */
  readonly maxLines?: number;
  /** Stop once the file, as a JSON string in Lambda's answer, would pass this many bytes. */
  readonly maxEncodedBytes?: number;
}

type Exported =
  | { readonly done: true; readonly header: ExportHeader; readonly lines: string[]; readonly body: string }
  | { readonly done: false; readonly stopped: 'time' | 'lines' | 'bytes'; readonly lines: string[] };

/**
 * The sealed export as `countersign audit export` writes it (cli/audit-export.ts): a header, every item of every
 * page, and the last page's seal, one JSON text a line; `body` is the file, each line ending in a newline. The
 * header's `source` is the console's address, as the CLI's is the API's.
 */
async function exportLines(context: ConsoleContext, window: { since?: string; until?: string }, limits: ExportLimits): Promise<Exported> {
  const source: LedgerExportSource = context.exportSource();
  const lines: string[] = [];
  let header: ExportHeader | undefined;
  let encodedBytes = 2;
  let cursor: string | undefined;
  const add = (line: string): 'lines' | 'bytes' | undefined => {
    lines.push(line);
    // The line and its newline, as a JSON string escapes them (a quote or backslash doubles, a control character more).
    encodedBytes += Buffer.byteLength(JSON.stringify(`${line}\n`)) - 2;
    if (limits.maxLines !== undefined && lines.length > limits.maxLines) return 'lines';
    if (limits.maxEncodedBytes !== undefined && encodedBytes > limits.maxEncodedBytes) return 'bytes';
    return undefined;
  };
  for (;;) {
    const left = limits.deadline - Date.now();
    if (left <= 0) return { done: false, stopped: 'time', lines };
    const page = await sealedPage(
      context.ports,
      source,
      { ...window, cursor },
      { maxMillis: Math.min(4000, left), ...(limits.maxEncodedBytes ? { maxBytes: Math.min(limits.maxEncodedBytes, 4 * 1024 * 1024) } : {}) },
    );
    if (!header) {
      header = exportHeader(page.exportedAt, window, `${context.ports.publicUrl}/console`);
      const stop = add(JSON.stringify(header));
      if (stop) return { done: false, stopped: stop, lines };
    }
    for (const item of page.items) {
      const stop = add(JSON.stringify(item));
      if (stop) return { done: false, stopped: stop, lines };
    }
    cursor = page.cursor ?? undefined;
    if (!cursor) {
      if (page.seal) {
        const stop = add(JSON.stringify(page.seal));
        if (stop) return { done: false, stopped: stop, lines };
      }
      return { done: true, header, lines, body: lines.map((line) => `${line}\n`).join('') };
    }
  }
}

interface Health {
  readonly now: Date;
  readonly checkpoint?: { seq: number; at: string; until: string; total: number; ageSeconds: number } | undefined;
}

async function healthOf({ ports, exportSource }: ConsoleContext): Promise<Health> {
  const now = ports.clock.now();
  const newest = await exportSource().latestCheckpoint();
  return {
    now,
    checkpoint: newest && {
      seq: newest.seq,
      at: newest.at,
      until: newest.until,
      total: newest.total,
      ageSeconds: Math.round((now.getTime() - Date.parse(newest.until)) / 1000),
    },
  };
}

function ledgerPage(context: ConsoleContext, health: Health, result = '', status = 200, query: Readonly<Record<string, string | undefined>> = {}): HttpResult {
  return consolePage(context.viewer, {
    title: 'Ledger',
    section: 'ledger',
    status,
    body: `<h1>Ledger</h1>
${healthHtml(health)}
${verifyForm(context.viewer)}
${result}
${exportForm(query)}`,
  });
}

function healthHtml({ checkpoint, now }: Health): string {
  const expected = DEFAULT_MAX_CHECKPOINT_AGE_SECONDS;
  if (!checkpoint) {
    return `<section aria-labelledby="health-heading" data-testid="ledger-health"><h2 id="health-heading">Ledger health</h2>
<div class="notice notice-error" role="alert" data-testid="checkpoint-missing"><p>No checkpoint yet. The checkpointer signs one every five minutes; a ledger with records and no checkpoint after that means it is not running.</p></div></section>`;
  }
  const stale = checkpoint.ageSeconds > expected;
  const warning = stale
    ? `<div class="notice notice-error" role="alert" data-testid="checkpoint-stale"><p>The newest checkpoint covers records only up to ${escapeHtml(spanWords(checkpoint.ageSeconds * 1000))} ago. Checkpoints are signed every five minutes and should never fall more than ${expected / 60} minutes behind (what <code>countersign audit verify</code> expects): check the checkpointer’s logs and alarms.</p></div>`
    : `<p class="ok" data-testid="checkpoint-fresh">Checkpoints are current: the newest covers records up to ${escapeHtml(spanWords(checkpoint.ageSeconds * 1000))} ago (expected within ${expected / 60} minutes).</p>`;
  return `<section aria-labelledby="health-heading" data-testid="ledger-health"><h2 id="health-heading">Ledger health</h2>
${warning}
<dl>
<div class="row"><dt>Newest checkpoint</dt><dd data-testid="checkpoint-seq">#${checkpoint.seq}</dd></div>
<div class="row"><dt>Covers records until</dt><dd>${renderTime(checkpoint.until, 'checkpoint-until', now)}</dd></div>
<div class="row"><dt>Signed</dt><dd>${renderTime(checkpoint.at, 'checkpoint-at', now)}</dd></div>
<div class="row"><dt>Records covered</dt><dd data-testid="checkpoint-total">${checkpoint.total.toLocaleString('en-US')}</dd></div>
</dl></section>`;
}

function verifyForm(viewer: Viewer): string {
  return `<section aria-labelledby="verify-heading"><h2 id="verify-heading">Verify the whole ledger</h2>
<p>Exports the whole ledger as <code>countersign audit export</code> does, sealed, and checks every hash, signature, chain link and checkpoint with the ledger’s public key, as <code>countersign audit verify</code> does. A ledger too big to finish within a web request is left to the CLI.</p>
<form method="post" action="/console/ledger/verify" data-testid="verify-form"><input type="hidden" name="csrf" value="${escapeHtml(viewer.csrf)}">
<button type="submit" class="button-primary" data-testid="verify">Verify the whole ledger</button></form></section>`;
}

function exportForm(query: Readonly<Record<string, string | undefined>>): string {
  const value = (name: string) => escapeHtml((query[name] ?? '').slice(0, 64));
  return `<section aria-labelledby="export-heading"><h2 id="export-heading">Download an export</h2>
<p>The sealed export file <code>countersign audit export</code> writes (JSON Lines); <code>countersign audit verify --file</code> checks it. Leave both empty for the whole ledger. One download carries at most about ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB: for more, choose a shorter window or use the CLI.</p>
<form method="get" action="/console/ledger/export" class="filters" data-testid="export-form">
<label for="x-since">Since (UTC day or ISO time)<input id="x-since" name="since" value="${value('since')}" placeholder="YYYY-MM-DD" autocomplete="off" data-testid="export-since"></label>
<label for="x-until">Until (included)<input id="x-until" name="until" value="${value('until')}" placeholder="YYYY-MM-DD" autocomplete="off" data-testid="export-until"></label>
<button type="submit" class="button-secondary" data-testid="download">Download</button>
</form></section>`;
}

function exportProblem(message: string): string {
  return `<div class="notice notice-error" role="alert" data-testid="error"><p>${text(message)}</p></div>`;
}

/** "1 record", "28 records", "1,204 records". */
const count = (n: number, noun: string) => `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;

function reportHtml(report: LedgerReport, ms: number): string {
  const what = `${count(report.records, 'record')} in ${count(report.requests, 'request')}, ${count(report.checkpoints, 'checkpoint')}`;
  const coverage = `${count(report.covered, 'record')} under a checkpoint, ${report.pending.toLocaleString('en-US')} newer than the last checkpoint`;
  const summary = report.ok
    ? `<div class="notice notice-success" role="status" data-testid="verify-ok"><p><strong>The ledger verifies.</strong> ${escapeHtml(what)}; ${escapeHtml(coverage)}. Sealed export of ${escapeHtml(formatUtc(report.exportedAt ?? '') ?? '?')}, checked in ${escapeHtml(spanWords(ms))}.</p></div>`
    : `<div class="notice notice-error" role="alert" data-testid="verify-failed"><p><strong>The ledger does not verify: ${report.findings.length} problem${report.findings.length === 1 ? '' : 's'}</strong> in ${escapeHtml(what)}; ${escapeHtml(coverage)}.</p></div>`;
  const byKind = FINDING_KINDS.map((kind) => [kind, report.findings.filter((f) => f.kind === kind)] as const).filter(([, list]) => list.length > 0);
  const findings = byKind
    .map(
      ([kind, list]) => `<h3>${escapeHtml(kind)} (${list.length})</h3>
<div class="table-wrap"><table data-testid="findings-${escapeHtml(kind)}"><thead><tr><th scope="col">Request</th><th scope="col">Seq</th><th scope="col">What</th></tr></thead><tbody>
${list
  .slice(0, 200)
  .map(
    (f) =>
      `<tr data-testid="finding"><td>${f.requestId ? `<bdi>${text(f.requestId)}</bdi>` : f.checkpoint !== undefined ? `checkpoint #${f.checkpoint}` : '<span class="none">—</span>'}</td><td>${f.seq ?? (f.seqs ? escapeHtml(f.seqs.join(', ')) : '')}</td><td>${text(f.message)}</td></tr>`,
  )
  .join('\n')}
</tbody></table></div>${list.length > 200 ? `<p class="hint">The first 200 of ${list.length}; <code>countersign audit verify --json</code> lists all.</p>` : ''}`,
    )
    .join('\n');
  return `<section aria-labelledby="verify-result" data-testid="verify-report"><h2 id="verify-result">Verify report</h2>
${summary}
<dl>
<div class="row"><dt>Records</dt><dd data-testid="report-records">${report.records}</dd></div>
<div class="row"><dt>Requests</dt><dd data-testid="report-requests">${report.requests}</dd></div>
<div class="row"><dt>Checkpoints</dt><dd data-testid="report-checkpoints">${report.checkpoints}</dd></div>
<div class="row"><dt>Under a checkpoint</dt><dd data-testid="report-covered">${report.covered}</dd></div>
<div class="row"><dt>Newer than the last checkpoint</dt><dd data-testid="report-pending">${report.pending}</dd></div>
<div class="row"><dt>Sealed</dt><dd>${report.sealed ? 'yes' : 'no'}</dd></div>
</dl>
${findings}
</section>`;
}
