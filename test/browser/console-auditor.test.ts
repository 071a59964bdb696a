/**
 * An auditor in a real browser: signed in with a local API key, the audit page's charts are drawn by the bundled
 * Chart.js from the ledger's real requests (the chart's data is the table's), nothing loads from another origin, the
 * console's scripts are served as JavaScript, and the audit and ledger pages have no serious or critical
 * accessibility violations at 390 and 1280 px.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, checkpointNow, type RunningCountersign, startCountersign } from '../local/harness';
import { launchBrowser, newPage, seriousA11yViolations } from './browser';

describe('the auditor’s console in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-browser-auditor-'));
  let cs: RunningCountersign;
  let browser: Browser;

  beforeAll(async () => {
    [cs, browser] = await Promise.all([startCountersign({ dataDir: join(dir, 'data') }), launchBrowser()]);
    const decide = (id: string, key: string, decision: string) => api(cs.url, 'POST', `/v1/actions/${id}/decision`, key, { decision });
    const ask = async (key: string, body: object) => (await api(cs.url, 'POST', '/v1/actions', key, body)).body.id as string;
    const exported = await ask('demo-agent-key', { action: 'data.export', environment: 'production', justification: '<img src=x onerror="window.__pwned=1">' });
    await decide(exported, 'alice-key', 'approve');
    await decide(exported, 'bob-key', 'approve');
    await decide(await ask('demo-agent-key', { action: 'infra.deploy' }), 'dave-key', 'deny');
    await decide(await ask('alice-key', { action: 'infra.restart' }), 'dave-key', 'approve');
    await ask('demo-agent-key', { action: 'payments.refund' });
    await checkpointNow(cs.url);
  });
  afterAll(async () => {
    await browser?.close();
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A page signed in as the auditor, through local mode's sign-in form, recording every request it makes. */
  async function auditor(width: number): Promise<{ page: Page; requested: string[] }> {
    const page = await newPage(browser, { viewport: { width, height: width < 600 ? 844 : 800 } });
    const requested: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    await page.goto(`${cs.url}/console/sign-in`);
    await page.getByTestId('key').fill('audit-key');
    await page.getByTestId('sign-in').click();
    await page.waitForURL(`${cs.url}/console`);
    return { page, requested };
  }

  it('draws each chart with Chart.js from the same data as its table, loading nothing from another origin', async () => {
    const { page, requested } = await auditor(1280);
    const scripts: Array<{ url: string; type: string | undefined; status: number }> = [];
    page.on('response', (res) => {
      if (res.url().includes('/console/assets/')) scripts.push({ url: res.url(), type: res.headers()['content-type'], status: res.status() });
    });
    await page.goto(`${cs.url}/console/audit`);
    await expect.poll(() => page.locator('canvas[data-drawn]').count()).toBe(4);

    // Requests per day: Chart.js's data is the table's, and sums to the requests found.
    const chart = (await page.evaluate(`(() => {
      const canvas = document.querySelector('[data-testid="chart-requests-per-day"] canvas');
      const drawn = Chart.getChart(canvas);
      // Pixels were painted: not every one of the canvas is transparent.
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
      return { labels: drawn.data.labels, datasets: drawn.data.datasets.map((d) => ({ label: d.label, data: d.data })), painted };
    })()`)) as { labels: string[]; datasets: Array<{ label: string; data: number[] }>; painted: number };
    expect(chart.painted).toBeGreaterThan(1000);
    const table = (await page.evaluate(`(() => {
      const t = document.querySelector('[data-testid="chart-table-requests-per-day"]');
      const head = [...t.querySelectorAll('thead th')].slice(1).map((th) => th.textContent);
      const rows = [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent));
      return { head, rows };
    })()`)) as { head: string[]; rows: string[][] };
    expect(chart.datasets.map((d) => d.label)).toEqual(table.head);
    expect(chart.labels).toEqual(table.rows.map((r) => r[0]));
    chart.datasets.forEach((d, i) => {
      expect(d.data.map(String)).toEqual(table.rows.map((r) => r[i + 1]));
    });
    const byOutcome = Object.fromEntries(chart.datasets.map((d) => [d.label, d.data.reduce((a, b) => a + b, 0)]));
    expect(byOutcome).toEqual({ Approved: 2, Denied: 1, Expired: 0, Cancelled: 0, Pending: 1 });
    expect(await page.getByTestId('result-count').textContent()).toMatch(/^4 requests/);

    // Decisions per approver: dave approved one and denied one; alice and bob approved one each.
    const approvers = (await page.evaluate(`(() => {
      const drawn = Chart.getChart(document.querySelector('[data-testid="chart-decisions-per-approver"] canvas'));
      return drawn.data.labels.map((label, i) => [label, drawn.data.datasets[0].data[i], drawn.data.datasets[1].data[i]]);
    })()`)) as Array<[string, number, number]>;
    expect(approvers).toEqual([
      ['dave@example.com', 1, 1],
      ['alice@example.com', 1, 0],
      ['bob@example.com', 1, 0],
    ]);
    // Drawn, the tables fold into their disclosures (open for readers without script).
    expect(await page.locator('details.chart-table[open]').count()).toBe(0);

    expect(scripts.map((s) => new URL(s.url).pathname).sort()).toEqual(['/console/assets/chart.umd.min.js', '/console/assets/console-charts.js']);
    for (const s of scripts) expect([s.status, s.type]).toEqual([200, 'text/javascript; charset=utf-8']);
    const origin = new URL(cs.url).origin;
    expect(requested.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await page.screenshot({ path: join(tmpdir(), 'countersign-console-audit.png'), fullPage: true });
    await page.context().close();
  });

  it('keeps the filters in a form that works without script, and shows the tables then', async () => {
    const page = await newPage(browser, { javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
    await page.goto(`${cs.url}/console/sign-in`);
    await page.getByTestId('key').fill('audit-key');
    await page.getByTestId('sign-in').click();
    await page.waitForURL(`${cs.url}/console`);
    await page.goto(`${cs.url}/console/audit`);
    await page.getByTestId('filter-approver').fill('DAVE@example.com');
    await page.getByTestId('filter-status').selectOption('denied');
    await page.getByTestId('search').click();
    await page.waitForURL(/approver=DAVE%40example.com/);
    expect(await page.getByTestId('result').count()).toBe(1);
    expect(await page.locator('details.chart-table[open]').count()).toBe(4);
    await page.context().close();
  });

  it('has no serious or critical accessibility violations on the audit and ledger pages at 390 and 1280 px', async () => {
    for (const width of [390, 1280]) {
      const { page } = await auditor(width);
      await page.goto(`${cs.url}/console/audit`);
      await expect.poll(() => page.locator('canvas[data-drawn]').count()).toBe(4);
      expect({ page: 'audit', width, violations: await seriousA11yViolations(page) }).toEqual({ page: 'audit', width, violations: [] });
      await page.goto(`${cs.url}/console/ledger`);
      await page.getByTestId('verify').click();
      await expect.poll(() => page.getByTestId('verify-ok').count()).toBe(1);
      expect({ page: 'ledger', width, violations: await seriousA11yViolations(page) }).toEqual({ page: 'ledger', width, violations: [] });
      await page.goto(`${cs.url}/console/audit?from=2026-02-30`);
      expect({ page: 'audit error', width, violations: await seriousA11yViolations(page) }).toEqual({ page: 'audit error', width, violations: [] });
      await page.context().close();
    }
  });
});
