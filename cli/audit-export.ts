/**
 * `countersign audit export` and `countersign audit verify`: the whole ledger as JSON Lines, and its verification
 * with the public key alone (see lambdas/core/ledger-verify.ts), offline from a file or live from the API.
 */

import type { KeyObject } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { apiRequest, type Endpoint, expectOk } from '../client/transport';
import { isoTimeMs } from '../lambdas/core/dates';
import {
  DEFAULT_MAX_CHECKPOINT_AGE_SECONDS,
  type ExportHeader,
  exportHeader,
  FINDING_KINDS,
  type LedgerReport,
  verifyLedgerLines,
} from '../lambdas/core/ledger-verify';
import {
  type CliIo,
  type CliOutput,
  connectionOptions,
  EXIT,
  endpointOf,
  err,
  neutralize,
  out,
  publicKeyFromApi,
  publicKeyFromFile,
  readTextFile,
  UsageError,
} from './connection';

export const EXPORT_USAGE = `  export [--since <time>] [--until <time>] [--out file.jsonl] [--url <url>] [--api-key <key>]
      every record, checkpoint and checkpoint leaf page as JSON Lines (auditors only: GET /v1/audit/export),
      after a first line {"type":"export",...} saying what was asked and when, and ending with the export's seal
      {"type":"export_seal",...}, signed by the ledger key over all of it; to stdout without --out.
      --since/--until select records by time, and the checkpoints wholly inside that range (ISO 8601)`;

export const VERIFY_USAGE = `  verify [--file file.jsonl] [--public-key key.pem] [--json] [--max-checkpoint-age <seconds>] [--url] [--api-key]
      checks the export's seal, every hash, signature, chain link and checkpoint, and names each edited, re-signed,
      reordered, missing or inserted record, deleted request, cut tail and forged or missing checkpoint by request
      id and seq; an unsealed export, an edited header and lines cut or added since the export are refused.
      A partial export (--since/--until) is judged as such, and the report says which window.
      --file            an export (default: export live from the API first)
      --public-key      the ledger key as PEM (offline; default: GET /v1/audit/public-key)
      --max-checkpoint-age  records older than this need a checkpoint (default ${DEFAULT_MAX_CHECKPOINT_AGE_SECONDS})
      --json            print the report as JSON
      exit codes: 0 everything holds; 1 a problem was found; 2 usage error; 3 the API could not be reached or refused`;

const exportPageSchema = z.object({
  items: z.array(z.record(z.string(), z.unknown())),
  cursor: z.string().nullable(),
  exportedAt: z.iso.datetime(),
  /** On the last page: written as is; `audit verify` judges it. */
  seal: z.record(z.string(), z.unknown()).optional(),
});

function isoOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = isoTimeMs(value);
  if (ms === undefined) throw new UsageError(`--${name} is not a time: ${value} (use ISO 8601 with its zone, e.g. 2026-11-01T00:00:00Z)`);
  return new Date(ms).toISOString();
}

/**
 * Streams the export, page by page, to `write`: the header first, then the items, then the seal the last page
 * answered. Answers the header, the number of items and whether a seal came.
 */
export async function exportLedger(
  endpoint: Endpoint,
  range: { since?: string | undefined; until?: string | undefined },
  write: (line: string) => void,
): Promise<{ header: ExportHeader; items: number; sealed: boolean }> {
  let cursor: string | undefined;
  let header: ExportHeader | undefined;
  let items = 0;
  let sealed = false;
  do {
    const response = expectOk(
      await apiRequest(endpoint, { method: 'GET', path: '/v1/audit/export', query: { since: range.since, until: range.until, cursor } }),
    );
    const page = exportPageSchema.parse(response.json());
    if (!header) {
      header = exportHeader(page.exportedAt, range, endpoint.url);
      write(JSON.stringify(header));
    }
    for (const item of page.items) write(JSON.stringify(item));
    items += page.items.length;
    cursor = page.cursor ?? undefined;
    if (!cursor && page.seal) {
      write(JSON.stringify(page.seal));
      sealed = true;
    }
  } while (cursor);
  return { header: header!, items, sealed };
}

export async function exportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { since: { type: 'string' }, until: { type: 'string' }, out: { type: 'string' }, ...connectionOptions },
  });
  const since = isoOption('since', values.since);
  const until = isoOption('until', values.until);
  const endpoint = endpointOf(values, io.env);
  let fd: number | undefined;
  try {
    if (values.out) fd = openSync(values.out, 'w', 0o600);
  } catch (e) {
    throw new UsageError(`cannot write ${values.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const write = fd !== undefined ? (text: string) => writeSync(fd, text) : (text: string) => io.stdout.write(text);
    const { items, sealed } = await exportLedger(endpoint, { since, until }, (line) => write(`${line}\n`));
    if (values.out) err(io, `exported ${items} ledger items to ${values.out}${sealed ? ', sealed' : ''}`);
    if (!sealed) err(io, 'warning: the API answered no seal: `audit verify` will refuse this export as unsealed');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return EXIT.ok;
}

export async function verifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      file: { type: 'string' },
      'public-key': { type: 'string' },
      json: { type: 'boolean', default: false },
      'max-checkpoint-age': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      ...connectionOptions,
    },
  });
  const maxAge = values['max-checkpoint-age'] === undefined ? DEFAULT_MAX_CHECKPOINT_AGE_SECONDS : Number(values['max-checkpoint-age']);
  if (!Number.isInteger(maxAge) || maxAge <= 0) throw new UsageError('--max-checkpoint-age is a whole number of seconds');
  let key: KeyObject | undefined = values['public-key'] ? publicKeyFromFile(values['public-key']) : undefined;
  let lines: string[];
  if (values.file) {
    lines = readTextFile(values.file, io.stdin).split('\n');
  } else {
    lines = [];
    await exportLedger(endpointOf(values, io.env), { since: isoOption('since', values.since), until: isoOption('until', values.until) }, (line) =>
      lines.push(line),
    );
  }
  key ??= await publicKeyFromApi(endpointOf(values, io.env));

  const bar = !values.json && io.stderr.isTTY ? progressBar(io.stderr) : undefined;
  const report = verifyLedgerLines(lines, key, { maxCheckpointAgeSeconds: maxAge, ...(bar ? { onProgress: bar.update } : {}) });
  bar?.done();
  if (values.json) out(io, JSON.stringify(report));
  else printReport(io, report);
  return report.ok ? EXIT.ok : EXIT.failed;
}

function printReport(io: CliIo, report: LedgerReport): void {
  const width = Math.max(...FINDING_KINDS.map((k) => k.length));
  for (const finding of report.findings) out(io, `${finding.kind.toUpperCase().padEnd(width)}  ${neutralize(finding.message)}`);
  const what = `${report.records} records in ${report.requests} requests, ${report.checkpoints} checkpoints`;
  const coverage = `${report.covered} records under a checkpoint, ${report.pending} newer than the last checkpoint`;
  if (report.window) {
    const { since, until } = report.window;
    out(
      io,
      `partial export: judged the window ${since ? `since ${neutralize(since)}` : 'from the start'} ${until ? `until ${neutralize(until)}` : `until the export (${neutralize(report.exportedAt ?? '?')})`}` +
        ': its records and the checkpoints wholly inside it, not the whole ledger',
    );
  }
  const scope = report.window ? 'partial export' : report.sealed ? `sealed export of ${neutralize(report.exportedAt ?? '?')}` : 'export';
  out(
    io,
    report.ok
      ? `ledger: OK: ${what}; ${coverage} (${scope})`
      : `ledger: FAILED: ${report.findings.length} problem${report.findings.length === 1 ? '' : 's'} in ${what} (${scope})`,
  );
}

/** A one-line progress bar on a terminal's stderr, redrawn at most every 100 ms. */
function progressBar(stderr: CliOutput) {
  let last = 0;
  const draw = (done: number, total: number) => {
    const cells = 30;
    const filled = total === 0 ? cells : Math.round((done / total) * cells);
    stderr.write(`\rverifying [${'#'.repeat(filled)}${'.'.repeat(cells - filled)}] ${done}/${total}`);
  };
  return {
    update: (done: number, total: number) => {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done, total);
    },
    done: () => stderr.write('\r\u001b[2K'),
  };
}
