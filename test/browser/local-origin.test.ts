/**
 * Local mode against hostile pages in a real browser: a page on another origin cannot plant an inbox message (its
 * `text/plain` form and `no-cors` fetch are refused), and a page reached through DNS rebinding (chromium told to
 * resolve evil.example to 127.0.0.1) reads nothing from the inbox. Local mode's own inbox page still works.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { api, eventually, type RunningCountersign, startCountersign } from '../local/harness';
import { CHROMIUM_ARGS, CHROMIUM_PATH, newPage } from './browser';

/** A message the inbox would take as is (`text` last, for the form below). */
const message = (subject: string) =>
  JSON.stringify({ channel: 'email', to: 'alice@example.com', subject, actionId: 'act_planted', reviewUrl: 'http://evil.example/phish', text: 'Approve here' });

/** The attacker's page: a `text/plain` form POST (auto-submitted) or a `no-cors` fetch to local mode's inbox. */
function attackerPage(target: string, kind: 'fetch' | 'form'): string {
  if (kind === 'fetch') {
    return `<!doctype html><title>loading</title><script>
fetch(${JSON.stringify(`${target}/_local/inbox`)}, { method: 'POST', mode: 'no-cors', body: ${JSON.stringify(message('Planted by fetch'))} })
  .then(() => { document.title = 'sent'; }, () => { document.title = 'failed'; });
</script>`;
  }
  // A text/plain form sends name=value: the name holds the JSON up to inside the last string, the value closes it,
  // and the "=" lands in the text: a valid message.
  const name = message('Planted by form').replace(/"}$/, '');
  return `<!doctype html><title>form</title>
<form id="f" method="post" enctype="text/plain" action="${target}/_local/inbox"><input type="hidden" name='${name}' value='"}'></form>
<script>document.getElementById('f').submit();</script>`;
}

describe('local mode against hostile pages, in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-browser-origin-'));
  let cs: RunningCountersign;
  let browser: Browser;
  let attacker: Server;
  let attackerUrl: string;
  const subjects = async () => ((await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ subject: string }>).map((m) => m.subject);

  beforeAll(async () => {
    attacker = createServer((req, res) => {
      const kind = req.url === '/form' ? 'form' : 'fetch';
      res.writeHead(200, { 'content-type': 'text/html' }).end(attackerPage(cs.url, kind));
    });
    [cs, browser, attackerUrl] = await Promise.all([
      startCountersign({ dataDir: join(dir, 'data') }),
      // evil.example resolves to loopback: what a DNS rebinding attack achieves once the attacker's record flips.
      chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP evil.example 127.0.0.1'], headless: true }),
      listenLoopback(attacker, 0, { browsers: true }),
    ]);
    const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', { action: 'deploy.service', resource: 'billing', environment: 'staging' });
    expect(created.status).toBe(202);
    await eventually(async () => ((await subjects()).length > 0 ? true : undefined));
  });
  afterAll(async () => {
    await browser?.close();
    await cs?.stop();
    if (attacker) await closeServer(attacker);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a page on another origin cannot plant an inbox message with a text/plain form or a no-cors fetch', async () => {
    const before = await subjects();
    const page = await newPage(browser);
    await page.goto(`${attackerUrl}/fetch`);
    await expect.poll(() => page.title()).toBe('sent');

    const form = await newPage(browser);
    const answer = form.waitForResponse((r) => r.url() === `${cs.url}/_local/inbox`);
    await form.goto(`${attackerUrl}/form`);
    const refused = await answer;
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('cross_site_request');

    expect(await subjects()).toEqual(before);
    expect(before.some((s) => s.startsWith('Planted'))).toBe(false);
  });

  it('a page reached through DNS rebinding reads nothing from the inbox', async () => {
    const port = new URL(cs.url).port;
    const page = await newPage(browser);
    const answer = await page.goto(`http://evil.example:${port}/_local/inbox.json`);
    expect(answer!.status()).toBe(421);
    const text = await page.locator('body').textContent();
    expect(text).toContain('misdirected_request');
    expect(text).not.toContain('/v1/review/');
    // The rebound page's own fetch (same origin with evil.example) gets the same answer.
    const read = await page.evaluate(async () => {
      const res = await fetch('/_local/inbox.json');
      return { status: res.status, text: await res.text() };
    });
    expect(read.status).toBe(421);
    expect(read.text).not.toContain('/v1/review/');
  });

  it("local mode's own inbox page still shows the review links", async () => {
    const page = await newPage(browser);
    await page.goto(`${cs.url}/_local/inbox`);
    expect(await page.getByRole('link', { name: 'Open review page' }).count()).toBeGreaterThan(0);
  });
});
