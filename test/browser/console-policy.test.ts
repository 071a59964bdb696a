/**
 * The console's policy page in Debian's Chromium at 390 px and 1280 px: an approver signs in with a local API key,
 * reads the policy, explains a request with the form (no script needed) and sees the result; axe-core finds no
 * serious or critical violation on the page, with and without a result, nor on the 400 page.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedCountersign } from '../local/harness';
import { launchBrowser, newPage, seriousA11yViolations } from './browser';

const SIZES = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
] as const;

describe('the console policy page, in a browser', () => {
  // The shared local mode: the policy page reads only the default policy, whatever requests others made.
  const cs = sharedCountersign();
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function signedIn(viewport: { width: number; height: number }, key: string): Promise<Page> {
    const page = await newPage(browser, { viewport });
    await page.goto(`${cs.url}/console/sign-in`);
    await page.fill('[data-testid="key"]', key);
    await Promise.all([page.waitForURL(`${cs.url}/console`), page.click('[data-testid="sign-in"]')]);
    return page;
  }

  it.each(SIZES)('an approver reads the policy and explains a request at $width px, with no serious accessibility violation', async (viewport) => {
    const page = await signedIn(viewport, 'alice-key');
    await page.click('[data-testid="nav-policy"]');
    await page.waitForURL(`${cs.url}/console/policy`);
    expect(await page.locator('[data-testid="rule"]').count()).toBe(4);
    expect(await page.locator('[data-testid="policy-version"]').textContent()).toMatch(/^[0-9a-f]{64}$/);
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.fill('#explain-action', 'data.export');
    await page.fill('#explain-environment', 'production');
    await page.fill('#explain-parameters', '{"rows": 50000}');
    await Promise.all([page.waitForURL(/\/console\/policy\?/), page.click('[data-testid="explain-submit"]')]);
    const verdict = await page.locator('[data-testid="explain-verdict"]').textContent();
    expect(verdict).toContain('rule prod-exports: matches -> require_approval');
    expect(await page.locator('[data-testid="explain-skipped"]').count()).toBe(2);
    // The form keeps what was asked, so the request can be changed and tried again.
    expect(await page.inputValue('#explain-parameters')).toBe('{"rows": 50000}');
    // Nothing is wider than the screen.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.fill('#explain-parameters', '{"rows": ');
    const [response] = await Promise.all([page.waitForResponse(/\/console\/policy\?/), page.click('[data-testid="explain-submit"]')]);
    expect(response.status()).toBe(400);
    expect(await page.locator('[data-testid="explain-problems"]').textContent()).toContain('is not valid JSON');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.context().close();
  });

  it('does not show the agent the policy', async () => {
    const page = await signedIn({ width: 390, height: 844 }, 'demo-agent-key');
    expect(await page.locator('[data-testid="nav-policy"]').count()).toBe(0);
    const response = await page.goto(`${cs.url}/console/policy`);
    expect(response?.status()).toBe(403);
    expect(await page.locator('[data-testid="rule"]').count()).toBe(0);
    await page.context().close();
  });
});
