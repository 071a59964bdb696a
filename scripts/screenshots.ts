/**
 * `npm run screenshots`: the README's pictures of the console, made from a real run so they stay current.
 *
 * Starts local mode in this process, on a free port with its own temporary data folder (the shipped policy, plus one
 * short-lived rule so a request can expire while the script waits), seeds requests through the API as the agent and
 * the approvers of countersign.config.yaml's local.apiKeys would, signs in through /console/sign-in in Debian's
 * Chromium (playwright-core, as the browser tests do), and saves PNGs into docs/screenshots/. It only visits URLs: a
 * page that is not built yet is pictured as it is.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parseDocument } from 'yaml';
import { loadConfigFile } from '../lambdas/adapters/config-file';
import { startLocalRuntime } from '../local/runtime';
import { launchBrowser } from '../test/browser/browser';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'docs', 'screenshots');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/** The shipped policy with one more rule, whose requests expire in seconds (the expired example). */
function screenshotConfig(dir: string): string {
  const document = parseDocument(readFileSync(join(ROOT, 'countersign.config.yaml'), 'utf8'));
  document.addIn(['rules'], {
    name: 'cache-flushes',
    match: { action: 'cache.flush' },
    effect: 'require_approval',
    approvers: ['platform'],
    timeout: '5s',
  });
  const file = join(dir, 'countersign.config.yaml');
  writeFileSync(file, document.toString());
  return file;
}

/** What the API answers about a request (the fields the script reads). */
interface View {
  readonly id: string;
  readonly status: string;
}

async function call(base: string, method: string, path: string, key: string, body?: unknown): Promise<View> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as View;
}

const ask = (base: string, request: Record<string, unknown>) => call(base, 'POST', '/v1/actions', 'demo-agent-key', request);
const vote = (base: string, id: string, key: string, decision: 'approve' | 'deny', reason?: string) =>
  call(base, 'POST', `/v1/actions/${id}/decision`, key, { decision, ...(reason ? { reason } : {}) });

/** Realistic requests in every state, through the API. Answers the ids worth picturing. */
async function seed(base: string): Promise<{ pending: string; approved: string }> {
  const pending = await ask(base, {
    action: 'data.export',
    environment: 'production',
    resource: 'arn:aws:rds:eu-west-1:123456789012:db:prod-customers',
    parameters: { table: 'customers', rows: 250000, format: 'csv', columns: ['id', 'country', 'plan', 'churned_at'] },
    justification: 'Quarterly churn analysis for the board pack; aggregated before it leaves the warehouse.',
    onBehalfOf: 'carol@example.com',
    agent: { name: 'analyst-bot', model: 'claude', runId: 'run-7f3a' },
  });
  // One vote in: quorum progress shows 1 of 2.
  await vote(base, pending.id, 'bob-key', 'approve', 'Aggregated columns only; fine by me.');

  const approved = await ask(base, {
    action: 'data.export',
    environment: 'staging',
    resource: 'arn:aws:rds:eu-west-1:123456789012:db:staging-billing',
    parameters: { table: 'invoices', rows: 1200, format: 'parquet' },
    justification: 'Reconcile November invoices against the ledger.',
    onBehalfOf: 'erin@example.com',
    agent: { name: 'finance-agent', model: 'claude', runId: 'run-11c2' },
  });
  await vote(base, approved.id, 'alice-key', 'approve', 'Checked the table list.');
  await vote(base, approved.id, 'bob-key', 'approve', 'Fine for Q4.');

  const denied = await ask(base, {
    action: 'infra.scale_down',
    environment: 'production',
    resource: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout',
    parameters: { desiredCount: 0 },
    justification: 'Traffic is low tonight; save cost.',
    agent: { name: 'cost-optimizer', runId: 'run-02be' },
  });
  await vote(base, denied.id, 'dave-key', 'deny', 'Checkout never scales to zero: Black Friday week.');

  const cancelled = await ask(base, {
    action: 'infra.rotate_credentials',
    environment: 'staging',
    resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/db',
    agent: { name: 'ops-agent', runId: 'run-5d90' },
  });
  await call(base, 'POST', `/v1/actions/${cancelled.id}/cancel`, 'demo-agent-key');

  const expiring = await ask(base, {
    action: 'cache.flush',
    environment: 'production',
    resource: 'arn:aws:elasticache:eu-west-1:123456789012:cluster:sessions',
    agent: { name: 'ops-agent', runId: 'run-5d91' },
  });
  await ask(base, { action: 'users.read', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/users', agent: { name: 'support-bot' } });
  await ask(base, {
    action: 'infra.update_service',
    environment: 'staging',
    resource: 'arn:aws:ecs:eu-west-1:123456789012:service/staging/api',
    parameters: { image: 'api:2026.11.29-3', desiredCount: 3 },
    justification: 'Roll out the fix for the timeout on /v1/export.',
    agent: { name: 'deploy-bot', runId: 'run-9e41' },
  });

  // Wait for the short-lived request to expire (its rule's timeout is 5 s).
  const until = Date.now() + 60_000;
  for (;;) {
    const view = await call(base, 'GET', `/v1/actions/${expiring.id}?wait=10`, 'demo-agent-key');
    if (view.status !== 'pending') break;
    if (Date.now() > until) throw new Error(`request ${expiring.id} did not expire within a minute`);
  }
  return { pending: pending.id, approved: approved.id };
}

async function signedIn(browser: Browser, base: string, viewport: { width: number; height: number }, key: string): Promise<Page> {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  const page = await context.newPage();
  await page.goto(`${base}/console/sign-in`);
  await page.fill('[data-testid="key"]', key);
  await Promise.all([page.waitForURL(`${base}/console`), page.click('[data-testid="sign-in"]')]);
  return page;
}

async function shoot(page: Page, base: string, path: string, file: string, fullPage = false): Promise<void> {
  const response = await page.goto(`${base}${path}`);
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(OUT, file), fullPage });
  console.log(`  ${file.padEnd(22)} ${path} (${response?.status() ?? '?'})`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-screenshots-'));
  const configFile = screenshotConfig(dir);
  const runtime = await startLocalRuntime({
    config: loadConfigFile(configFile),
    configFile,
    dataDir: join(dir, 'data'),
    port: 0,
    accessLog: false,
    log: { info: () => {}, error: (m) => console.error(m) },
  });
  let browser: Browser | undefined;
  try {
    const base = runtime.url;
    console.log(`local mode on ${base}; seeding requests...`);
    const { pending, approved } = await seed(base);
    mkdirSync(OUT, { recursive: true });
    browser = await launchBrowser();

    console.log(`saving into ${OUT}:`);
    const alicePhone = await signedIn(browser, base, PHONE, 'alice-key');
    await shoot(alicePhone, base, '/console', 'inbox-390.png');
    const aliceDesktop = await signedIn(browser, base, DESKTOP, 'alice-key');
    await shoot(aliceDesktop, base, '/console', 'inbox-1280.png');
    await shoot(aliceDesktop, base, `/console/requests/${pending}`, 'request-1280.png', true);
    await shoot(alicePhone, base, `/console/requests/${approved}`, 'request-approved-390.png');

    const auditor = await signedIn(browser, base, DESKTOP, 'audit-key');
    await shoot(auditor, base, '/console/audit', 'audit-1280.png', true);
    // A checkpoint first (the checkpointer runs every five minutes), then the page as a verify from it leaves it.
    await fetch(`${base}/_local/schedules/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await auditor.goto(`${base}/console/ledger`);
    await Promise.all([auditor.waitForLoadState('load'), auditor.click('[data-testid="verify"]')]);
    await auditor.waitForSelector('[data-testid="verify-report"]');
    await auditor.screenshot({ path: join(OUT, 'ledger-1280.png'), fullPage: true });
    console.log(`  ${'ledger-1280.png'.padEnd(22)} /console/ledger, after a verify`);
    const explain = new URLSearchParams({
      action: 'data.export',
      environment: 'production',
      resource: 'arn:aws:rds:eu-west-1:123456789012:db:prod-customers',
      parameters: '{"table": "customers", "rows": 250000}',
    });
    await shoot(auditor, base, `/console/policy?${explain}`, 'policy-1280.png', true);
  } finally {
    await browser?.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
