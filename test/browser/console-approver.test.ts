/**
 * An approver in the console, in a real browser at 390×844 and 1280×800: signs in with a local API key through the
 * sign-in form, finds the request in the inbox with its summary, time left and Approve/Deny on the first screen, opens
 * the request's page (the same first-screen rule), and decides in place from the inbox. Every page has no serious or
 * critical accessibility violations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ROOT, type RunningCountersign, startCountersign } from '../local/harness';
import { launchBrowser, newPage, seriousA11yViolations } from './browser';

const SCREENS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
] as const;

describe('the console for an approver, in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-console-approver-'));
  let cs: RunningCountersign;
  let browser: Browser;

  beforeAll(async () => {
    [cs, browser] = await Promise.all([startCountersign({ dataDir: join(dir, 'data'), configFile: join(ROOT, 'countersign.config.yaml') }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ask(body: Record<string, unknown>): Promise<string> {
    const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', body);
    expect(created.status).toBe(202);
    return created.body.id as string;
  }

  /** Whether the element lies wholly within the first screen (the page not scrolled). */
  async function onFirstScreen(page: Page, locator: Locator): Promise<boolean> {
    const box = await locator.boundingBox();
    const viewport = page.viewportSize()!;
    const scrolled = (await page.evaluate('window.scrollY')) as number;
    return box !== null && scrolled === 0 && box.y >= 0 && box.y + box.height <= viewport.height && box.x >= 0 && box.x + box.width <= viewport.width;
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${cs.url}/console`);
    await expect.poll(() => page.url()).toContain('/console/sign-in');
    await page.getByTestId('key').fill(key);
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByTestId('viewer').textContent()).toBe('alice@example.com');
  }

  it.each(SCREENS)('at $width×$height: signs in, sees the first screen, and decides in place', async (screen) => {
    const long = 'The quarterly export feeds the finance dashboard. '.repeat(60);
    const exportId = await ask({
      action: 'data.export',
      resource: 'arn:aws:s3:::customer-exports-eu-west-1',
      environment: 'production',
      parameters: { table: 'customers', columns: ['id', 'email', 'plan'], note: long },
      justification: long,
      agent: { name: 'reporter', model: 'claude' },
    });
    const infraId = await ask({ action: 'infra.scale', resource: `cluster/main-${screen.width}`, environment: 'staging', justification: long });

    const page = await newPage(browser, { viewport: screen });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(page, 'alice-key');

    // The inbox: the soonest deadline first (infra's 30 minutes), its summary, time left and the buttons on the first screen.
    const first = page.getByTestId('inbox-card').first();
    expect(await first.getAttribute('data-request')).toBe(infraId);
    expect(await page.locator(`[data-testid="inbox-card"][data-request="${exportId}"]`).count()).toBe(1);
    for (const part of ['summary', 'time-left', 'approve', 'deny']) {
      expect({ part, screen, visible: await onFirstScreen(page, first.getByTestId(part)) }).toEqual({ part, screen, visible: true });
    }
    expect(await first.getByTestId('time-left').textContent()).toMatch(/minutes left to decide/);
    expect(await page.locator(`[data-request="${exportId}"] [data-testid="risk"]`).textContent()).toContain('production');
    expect({ page: 'inbox', screen, violations: await seriousA11yViolations(page) }).toEqual({ page: 'inbox', screen, violations: [] });

    // The request's page of the production export: the same first-screen rule, and its whole story below.
    await page.locator(`[data-request="${exportId}"]`).getByTestId('summary').click();
    await expect.poll(() => page.url()).toContain(`/console/requests/${exportId}`);
    for (const part of ['summary', 'time-left', 'approve', 'deny']) {
      expect({ part, screen, visible: await onFirstScreen(page, page.getByTestId(part).first()) }).toEqual({ part, screen, visible: true });
    }
    expect(await page.getByTestId('justification-note').textContent()).toContain('not verified');
    expect(await page.getByTestId('signature').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('chain-verification').textContent()).toContain('signature verified');
    expect({ page: 'request', screen, violations: await seriousA11yViolations(page) }).toEqual({ page: 'request', screen, violations: [] });
    await page.screenshot({ path: join(tmpdir(), `countersign-console-request-${screen.width}.png`) });

    // Back to the inbox, and decide the first card in place.
    await page.getByRole('link', { name: 'Inbox' }).first().click();
    const card = page.locator(`[data-testid="inbox-card"][data-request="${infraId}"]`);
    await card.getByTestId('reason').fill('Scaling staging is fine.');
    await card.getByTestId('approve').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('is recorded');
    expect(page.url()).toContain(`/console/requests/${infraId}/decision`);
    expect(await page.getByTestId('status').first().textContent()).toMatch(/approved/i);
    expect(await page.getByTestId('approve').count()).toBe(0);
    expect({ page: 'decided', screen, violations: await seriousA11yViolations(page) }).toEqual({ page: 'decided', screen, violations: [] });
    const view = await api(cs.url, 'GET', `/v1/actions/${infraId}`, 'demo-agent-key');
    expect(view.body).toMatchObject({
      status: 'approved',
      votes: [{ approver: 'alice@example.com', decision: 'approve', reason: 'Scaling staging is fine.' }],
    });

    // The inbox no longer lists it; it is among past decisions.
    await page.goto(`${cs.url}/console`);
    expect(await page.locator(`[data-testid="inbox-card"][data-request="${infraId}"]`).count()).toBe(0);
    expect(await page.locator(`[data-testid="past-decision"][data-request="${infraId}"]`).count()).toBe(1);
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: join(tmpdir(), `countersign-console-inbox-${screen.width}.png`) });
    await page.context().close();
  });
});
