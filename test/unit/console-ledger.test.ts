/**
 * The console's ledger page against an export source in memory: the checkpoint's age as health, and a ledger too big
 * to verify or download within one answer told as such, never judged or answered in part.
 */
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../lambdas/adapters/http';
import type { ConsoleContext } from '../../lambdas/console/context';
import { DOWNLOAD_MAX_BYTES, downloadExport, exportWindowOf, showLedger, VERIFY_MAX_LINES, verifyLedger } from '../../lambdas/console/ledger';
import type { ConsolePorts, Viewer } from '../../lambdas/console/viewer';
import type { Checkpoint } from '../../lambdas/core/checkpoint';
import { configFromDocument } from '../../lambdas/core/config';
import type { ExportPageQuery, LedgerExportSource } from '../../lambdas/core/ports';
import { memoryPolicy, memorySigner } from '../fixtures/memory-ports';

const now = new Date('2026-11-30T12:00:00.000Z');
const viewer: Viewer = { principal: 'audit@example.com', via: 'credentials', auditor: true, approver: false, csrf: 'the-token' };

/** `count` records, `size` bytes of padding each, a page of `perPage` at a time; the newest checkpoint as given. */
function source(count: number, options: { size?: number; perPage?: number; checkpoint?: Partial<Checkpoint> } = {}): LedgerExportSource & { pages: number } {
  const perPage = options.perPage ?? 5000;
  const padding = 'x'.repeat(options.size ?? 10);
  let pages = 0;
  return {
    get pages() {
      return pages;
    },
    async page(query: ExportPageQuery) {
      pages += 1;
      const start = query.cursor ? query.cursor.seq : 0;
      const end = Math.min(count, start + perPage);
      const items = Array.from({ length: end - start }, (_, i) => ({
        requestId: 'act_x',
        seq: start + i + 1,
        type: 'requested',
        at: now.toISOString(),
        padding,
      }));
      return end < count ? { items, next: { requestId: 'act_x', seq: end } } : { items };
    },
    async latestCheckpoint() {
      return options.checkpoint
        ? ({
            seq: 7,
            at: now.toISOString(),
            from: '2026-11-30T11:00:00.000Z',
            until: now.toISOString(),
            total: 42,
            hash: 'a'.repeat(64),
            ...options.checkpoint,
          } as Checkpoint)
        : undefined;
    },
  };
}

function context(exportSource: LedgerExportSource): ConsoleContext {
  const config = configFromDocument({ version: 1, groups: {}, default: { effect: 'deny' }, auditors: ['audit@example.com'] });
  const ports = {
    signer: memorySigner(),
    clock: { now: () => now, sleep: async () => {} },
    policy: memoryPolicy(config),
    publicUrl: 'https://console.example',
  } as unknown as ConsolePorts;
  return { ports, exportSource: () => exportSource, viewer };
}

const event = (method: string, query: Record<string, string> = {}, body?: string): HttpEvent =>
  ({
    routeKey: `${method} /console/ledger`,
    requestContext: { http: { method } },
    headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
    queryStringParameters: query,
    ...(body === undefined ? {} : { body }),
  }) as unknown as HttpEvent;

describe('the ledger page', () => {
  it('shows a fresh checkpoint as current, and one more than 15 minutes behind as a warning', async () => {
    const fresh = await showLedger(event('GET'), context(source(0, { checkpoint: { until: new Date(now.getTime() - 5 * 60_000).toISOString() } })));
    expect(fresh.body).toContain('data-testid="checkpoint-fresh"');
    expect(fresh.body).toContain('data-testid="checkpoint-seq">#7<');
    const stale = await showLedger(event('GET'), context(source(0, { checkpoint: { until: new Date(now.getTime() - 16 * 60_000).toISOString() } })));
    expect(stale.body).toContain('data-testid="checkpoint-stale"');
    expect(stale.body).toContain('16 minutes ago');
    const none = await showLedger(event('GET'), context(source(0)));
    expect(none.body).toContain('data-testid="checkpoint-missing"');
  });

  it('says a ledger too big to verify within the request is left to the CLI, and judges none of it', async () => {
    const big = source(VERIFY_MAX_LINES + 10, { checkpoint: {} });
    const res = await verifyLedger(event('POST', {}, 'csrf=the-token'), context(big));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('data-testid="verify-too-big"');
    expect(res.body).toContain('countersign audit export --out ledger.jsonl &amp;&amp; countersign audit verify --file ledger.jsonl');
    expect(res.body).not.toContain('data-testid="verify-report"');
  });

  it('refuses a verify without the form’s token before reading anything', async () => {
    const ledger = source(3, { checkpoint: {} });
    await expect(verifyLedger(event('POST', {}, 'csrf=another'), context(ledger))).rejects.toMatchObject({ code: 'forbidden' });
    expect(ledger.pages).toBe(0);
  });

  it('answers a page, never a cut file, when the export would pass what one answer carries', async () => {
    const big = source(2000, { size: Math.ceil((DOWNLOAD_MAX_BYTES * 1.1) / 2000), perPage: 500, checkpoint: {} });
    const res = await downloadExport(event('GET'), context(big));
    expect(res.headers?.['content-type']).toMatch(/^text\/html/);
    expect(res.headers?.['content-disposition']).toBeUndefined();
    expect(res.body).toContain('data-testid="export-too-big"');
    // A small export: the file, as the CLI writes it.
    const small = await downloadExport(event('GET'), context(source(3, { checkpoint: {} })));
    expect(small.headers?.['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const lines = (small.body as string).split('\n');
    expect(lines).toHaveLength(6); // header, 3 items, seal, and the last newline
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'export', format: expect.any(Number), source: 'https://console.example/console' });
    expect(JSON.parse(lines[4]!)).toMatchObject({ type: 'export_seal', items: 3 });
  });

  it('reads the download window as UTC days or ISO times, and refuses what is neither', () => {
    expect(exportWindowOf({ since: '2026-11-01', until: '2026-11-02' })).toEqual({ since: '2026-11-01T00:00:00.000Z', until: '2026-11-02T23:59:59.999Z' });
    expect(exportWindowOf({ since: '2026-11-01T10:00:00+01:00', until: '' })).toEqual({ since: '2026-11-01T09:00:00.000Z' });
    // Times whose fields are out of range are refused, not rolled over into another day.
    for (const since of ['2026-02-30T00:00Z', '2026-01-01T24:00Z', '2026-01-01T23:60Z', '2026-13-01T00:00Z', '9999-99-99T00:00Z', '2026-01-01T00:00+24:00']) {
      expect(() => exportWindowOf({ since }), since).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
    expect(exportWindowOf({ since: '2024-02-29T23:59:59.5Z' })).toEqual({ since: '2024-02-29T23:59:59.500Z' });
    expect(exportWindowOf({})).toEqual({});
    for (const query of [{ since: 'yesterday' }, { until: '2026-02-30' }, { since: '2026-11-01T10:00' }, { since: '2026-11-03', until: '2026-11-02' }]) {
      expect(() => exportWindowOf(query)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
  });
});
