/**
 * An approver in a real browser: the review link from the local inbox opens the page, Approve decides, and the
 * agent's long-poll (`?wait=`) returns the approval with its receipt.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { api, eventually, type RunningCountersign, startCountersign } from '../local/harness';
import { launchBrowser, newPage, seriousA11yViolations } from './browser';

const config = {
  version: 1,
  groups: { owners: { members: [{ id: 'alice@example.com', email: 'alice@example.com' }] } },
  default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
  channels: { email: { from: 'countersign@example.com' } },
  local: { apiKeys: { 'agent-key-1': 'arn:aws:iam::000000000000:role/agent' } },
};

describe('approving in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-browser-'));
  let cs: RunningCountersign;
  let browser: Browser;

  beforeAll(async () => {
    writeFileSync(join(dir, 'config.yaml'), stringify(config));
    [cs, browser] = await Promise.all([startCountersign({ dataDir: join(dir, 'data'), configFile: join(dir, 'config.yaml') }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens the link from the inbox, approves, and the agent sees approved', async () => {
    const created = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', {
      action: 'data.export',
      justification: '<img src=x onerror="window.__pwned=1"> please',
    });
    expect(created.status).toBe(202);
    const longPoll = api(cs.url, 'GET', `/v1/actions/${created.body.id}?wait=20`, 'agent-key-1');

    const page = await newPage(browser);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // The approver finds the message in the local inbox page and follows its link.
    await eventually(async () => ((await api(cs.url, 'GET', '/_local/inbox.json')).body.length > 0 ? true : undefined));
    await page.goto(`${cs.url}/_local/inbox`);
    await page.getByRole('link', { name: 'Open review page' }).first().click();
    await expect.poll(() => page.getByTestId('justification').textContent()).toContain('<img src=x onerror=');
    expect(await page.getByTestId('status').textContent()).toMatch(/pending/i);

    await page.getByTestId('reason').fill('Looks right.');
    await page.getByTestId('approve').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toMatch(/recorded/i);
    expect(await page.getByTestId('status').textContent()).toMatch(/approved/i);
    expect(await page.getByTestId('approve').count()).toBe(0);

    const answer = await longPoll;
    expect(answer.body).toMatchObject({
      status: 'approved',
      decidedBy: 'approvers',
      votes: [{ approver: 'alice@example.com', decision: 'approve', reason: 'Looks right.' }],
    });
    expect(answer.body.receipt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(dialogs).toEqual([]);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await page.screenshot({ path: join(tmpdir(), 'countersign-approved.png'), fullPage: true });
  });

  it("local mode's pages, and the review page as it serves it, have no serious or critical accessibility violations", async () => {
    const created = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export', environment: 'production' });
    expect(created.status).toBe(202);
    await eventually(async () =>
      ((await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ actionId: string }>).some((m) => m.actionId === created.body.id) ? true : undefined,
    );
    for (const width of [390, 1280]) {
      const page = await newPage(browser, { viewport: { width, height: width < 600 ? 844 : 800 } });
      for (const path of ['/_local', '/console/sign-in', '/_local/inbox']) {
        await page.goto(`${cs.url}${path}`);
        expect({ path, width, violations: await seriousA11yViolations(page) }).toEqual({ path, width, violations: [] });
      }
      await page.getByRole('link', { name: 'Open review page' }).first().click();
      await expect.poll(() => page.getByTestId('status').count()).toBe(1);
      expect({ page: 'review', width, violations: await seriousA11yViolations(page) }).toEqual({ page: 'review', width, violations: [] });
      await page.context().close();
    }
  });
});
