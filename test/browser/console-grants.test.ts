/**
 * Approving for a while in the console, in a real browser at 390×844 against local mode: the request's page keeps its
 * summary, time left, the "Approve for" choice and Approve/Deny on the first screen; picking 8 hours and approving
 * makes a grant, so the next matching request from the same requester is approved at once; revoking it on the
 * request's page, with a reason, makes the next one pending again. The grants page lists it meanwhile.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { GRANT_AGENT_KEY, grantPolicy } from '../fixtures/grant-policy';
import { api, type RunningCountersign, startCountersign } from '../local/harness';
import { launchBrowser, newPage, seriousA11yViolations } from './browser';

const AGENT = GRANT_AGENT_KEY;
const config = grantPolicy();

describe('approving for a while in the console, in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-console-grants-'));
  let cs: RunningCountersign;
  let browser: Browser;

  beforeAll(async () => {
    const configFile = join(dir, 'countersign.yaml');
    writeFileSync(configFile, stringify(config));
    [cs, browser] = await Promise.all([startCountersign({ dataDir: join(dir, 'data'), configFile }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (resource: string) => {
    const created = await api(cs.url, 'POST', '/v1/actions', AGENT, { action: 'db.migrate', resource, environment: 'production' });
    return created.body as { id: string; status: string; decidedBy?: string; grantedBy?: { grant: string; request: string } };
  };

  async function onFirstScreen(page: Page, locator: Locator): Promise<boolean> {
    const box = await locator.boundingBox();
    const viewport = page.viewportSize()!;
    const scrolled = (await page.evaluate('window.scrollY')) as number;
    return box !== null && scrolled === 0 && box.y >= 0 && box.y + box.height <= viewport.height && box.x >= 0 && box.x + box.width <= viewport.width;
  }

  it('at 390×844: picks 8 hours, the grant approves the next request at once, and revoking it asks again', async () => {
    const first = await ask('orders');
    expect(first.status).toBe('pending');

    const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
    await page.goto(`${cs.url}/console`);
    await expect.poll(() => page.url()).toContain('/console/sign-in');
    await page.getByTestId('key').fill('alice-key');
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByTestId('viewer').textContent()).toBe('alice@example.com');

    await page.goto(`${cs.url}/console/requests/${first.id}`);
    for (const part of ['summary', 'time-left', 'for', 'approve', 'deny']) {
      expect({ part, visible: await onFirstScreen(page, page.getByTestId(part).first()) }).toEqual({ part, visible: true });
    }
    expect(await page.getByLabel('Approve for').inputValue()).toBe('');
    expect(await page.getByTestId('grant-note').textContent()).toContain('to run db.migrate on orders that rule migrations decides');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByLabel('Approve for').selectOption({ label: '8 hours' });
    await page.getByTestId('reason').fill('Migration week.');
    await page.getByTestId('approve').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('Your decision (approve for 8h) is recorded. The request is approved.');
    const made = await page.getByTestId('grant-made').textContent();
    expect(made).toMatch(
      /Approved for a while: grant grt_\S+ approves later requests by arn:aws:iam::000000000000:role\/demo-agent to run db\.migrate on orders/,
    );
    const view = await api(cs.url, 'GET', `/v1/actions/${first.id}`, AGENT);
    const grantId = (view.body.grant as { id: string }).id;
    expect(made).toContain(grantId);

    const second = await ask('orders');
    expect(second).toMatchObject({ status: 'approved', decidedBy: 'grant', grantedBy: { grant: grantId, request: first.id } });
    await page.goto(`${cs.url}/console/requests/${second.id}`);
    expect(await page.getByTestId('outcome').textContent()).toMatch(
      /Approved by a grant \(grt_\S+, made when alice@example\.com approved request act_\S+ for a while/,
    );
    expect(await page.getByTestId('granted-by').textContent()).toBe(grantId);

    // The grants page lists it, linking to the granting request.
    await page.getByTestId('nav-grants').click();
    await expect.poll(() => page.url()).toContain('/console/grants');
    const row = page.locator(`[data-testid="grant"][data-grant="${grantId}"]`);
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain('alice@example.com');
    expect(await seriousA11yViolations(page)).toEqual([]);

    // Revoke it on the granting request's page, with a reason.
    await page.goto(`${cs.url}/console/requests/${first.id}`);
    await page.getByTestId('revoke-reason').fill('Window closed early.');
    await page.getByTestId('revoke').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('The grant is revoked');
    expect(await page.getByTestId('grant-made').textContent()).toContain('Window closed early.');
    expect(await page.getByTestId('revoke-form').count()).toBe(0);
    expect(await seriousA11yViolations(page)).toEqual([]);

    expect((await ask('orders')).status).toBe('pending');
    await page.screenshot({ path: join(tmpdir(), 'countersign-console-grant-390.png'), fullPage: true });
    await page.context().close();
  });
});
