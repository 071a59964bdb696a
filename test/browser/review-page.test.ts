/**
 * The review page in a real browser: a hostile request rendered by renderReviewPage, served with REVIEW_PAGE_HEADERS
 * from a local server, must run no script but its own (allowed by hash), show every hostile value as text, and post the approver's decision.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText() is the rendered text an approver sees, on purpose
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approvalRequestHtml } from '../../lambdas/core/notification';
import { PAGE_SCRIPT, REVIEW_PAGE_HEADERS, type ReviewView, renderMessagePage, renderReviewPage } from '../../lambdas/decision/review-page';
import { sampleState } from '../fixtures/approval-state';
import { launchBrowser, newPage, seriousA11yViolations } from './browser';

const APPROVER = 'arn:aws:iam::123456789012:user/bob';
const FORM_ACTION = '/v1/review/tok_abc123';
const NOW = new Date('2026-03-01T12:00:00.000Z');

const IMG_XSS = '"><img src=x onerror=alert(1)>';
const SCRIPT_XSS = '<script>window.__pwned = "justification"</script>';
const RTL_ENV = 'prod\u202Etxt.exe';
const LONG_FILLER = 'The quarterly export feeds the finance dashboard. '.repeat(210);

function hostileView(overrides: Partial<ReviewView['request']> = {}, view: Partial<ReviewView> = {}): ReviewView {
  return {
    approver: APPROVER,
    formAction: FORM_ACTION,
    now: NOW,
    ...view,
    request: {
      id: 'req_01HZX',
      status: 'pending',
      action: 'data.export<script>window.__pwned="action"</script>',
      resource: `javascript:alert(document.domain)//${IMG_XSS}`,
      environment: RTL_ENV,
      parameters: {
        bucket: 'customer-exports',
        filter: {
          html: '<script>window.__pwned="parameters"</script>',
          nested: [1, { deep: '"><svg onload=alert(1)>', link: 'javascript:alert(1)' }],
        },
      },
      justification: `<!channel> urgent ${SCRIPT_XSS} ${IMG_XSS}\n${LONG_FILLER}`,
      onBehalfOf: '<!channel> <@U024BE7LH>',
      requester: 'arn:aws:iam::123456789012:role/agent-runner',
      agent: { name: IMG_XSS, model: '<iframe src="javascript:alert(1)"></iframe>', runId: 'run-\u202Egnp.exe' },
      rule: 'exports-need-two',
      requiredApprovals: 2,
      createdAt: '2026-03-01T11:55:00.000Z',
      expiresAt: '2026-03-01T12:58:00.000Z',
      votes: [
        {
          approver: 'arn:aws:iam::123456789012:user/carol',
          decision: 'approve',
          reason: '<b onmouseover=alert(1)>fine</b>',
          at: '2026-03-01T11:58:00.000Z',
        },
      ],
      ...overrides,
    },
  };
}

interface Served {
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
}

interface CapturedPost {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly form: URLSearchParams;
}

let server: Server;
let base: string;
let browser: Browser;
const routes = new Map<string, Served>();
const posts: CapturedPost[] = [];

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

beforeEach(() => {
  routes.clear();
  posts.length = 0;
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', base).pathname;
  if (req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    posts.push({ path, contentType: req.headers['content-type'], form: new URLSearchParams(body) });
    // Answers as the decision handler will: the same page, now with the vote and a notice.
    const decision = posts.at(-1)!.form.get('decision') === 'deny' ? 'deny' : 'approve';
    const current = hostileView();
    const voted = hostileView(
      { votes: [...current.request.votes, { approver: APPROVER, decision, at: NOW.toISOString() }] },
      { notice: { kind: 'success', text: `Your ${decision} was recorded.` } },
    );
    res.writeHead(200, REVIEW_PAGE_HEADERS).end(renderReviewPage(voted));
    return;
  }
  const served = routes.get(path);
  if (!served) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, served.headers).end(served.html);
}

interface Watched {
  readonly page: Page;
  readonly dialogs: string[];
  readonly requests: string[];
  readonly consoleErrors: string[];
}

/** Serves the HTML at `path` and opens it, recording every dialog, request and console error along the way. */
async function open(
  html: string,
  options: {
    headers?: Readonly<Record<string, string>>;
    path?: string;
    viewport?: { width: number; height: number };
    now?: Date;
    timezoneId?: string;
    javaScriptEnabled?: boolean;
  } = {},
): Promise<Watched> {
  const path = options.path ?? FORM_ACTION;
  routes.set(path, { html, headers: options.headers ?? REVIEW_PAGE_HEADERS });
  const page = await newPage(browser, {
    ...(options.viewport ? { viewport: options.viewport, isMobile: options.viewport.width < 600, hasTouch: options.viewport.width < 600 } : {}),
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
    ...(options.javaScriptEnabled === false ? { javaScriptEnabled: false } : {}),
  });
  // The page's script counts time left from the browser's clock: the views' NOW, not the day the tests run.
  await page.clock.setFixedTime(options.now ?? NOW);
  const dialogs: string[] = [];
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const response = await page.goto(`${base}${path}`);
  expect(response?.status()).toBe(200);
  return { page, dialogs, requests, consoleErrors };
}

async function pwned(page: Page): Promise<unknown> {
  // A string expression: the project's TypeScript has no DOM lib, and this runs in the page anyway.
  return page.evaluate('window.__pwned');
}

describe('review page in chromium', () => {
  it('runs no script but its own, loads nothing else, and shows every hostile value as text', async () => {
    const { page, dialogs, requests, consoleErrors } = await open(renderReviewPage(hostileView()));

    expect(await pwned(page)).toBeUndefined();
    // Nothing agent-supplied became an element: no image, frame, svg or link at all, and one script, the page's own.
    expect(await page.locator('img, iframe, svg, object, embed, a, link, base, [onerror], [onload], [onmouseover]').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('script').textContent()).toBe(PAGE_SCRIPT);
    expect(requests).toEqual([`GET ${base}${FORM_ACTION}`]);
    // A CSP violation (an inline handler, an external load) would be reported here.
    expect(consoleErrors).toEqual([]);

    await expect.poll(() => page.getByTestId('action').innerText()).toBe('data.export<script>window.__pwned="action"</script>');
    expect(await page.getByTestId('resource').innerText()).toBe(`javascript:alert(document.domain)//${IMG_XSS}`);
    expect(await page.getByTestId('on-behalf-of').innerText()).toBe('<!channel> <@U024BE7LH>');
    const agent = await page.getByTestId('agent').innerText();
    expect(agent).toContain(IMG_XSS);
    expect(agent).toContain('<iframe src="javascript:alert(1)"></iframe>');
    expect(await page.getByTestId('votes').innerText()).toContain('<b onmouseover=alert(1)>fine</b>');

    const parameters = await page.getByTestId('parameters').innerText();
    expect(JSON.parse(parameters)).toEqual(hostileView().request.parameters);
    expect(parameters).toContain('\n  "filter": {\n'); // pretty-printed

    // The RTL override is shown as a marker, so "prod‮txt.exe" cannot read as "prodexe.txt".
    const environment = await page.getByTestId('environment').innerText();
    expect(environment).not.toContain('\u202E');
    expect(environment.replace(/\s+/g, '')).toBe('prodU+202Etxt.exe');
    expect(agent).toContain('U+202E');

    const justification = await page.getByTestId('justification').innerText();
    expect(justification).toContain(`<!channel> urgent ${SCRIPT_XSS} ${IMG_XSS}`);
    expect(justification.length).toBeGreaterThan(10_000);
    await expect.poll(() => page.getByTestId('justification-note').innerText()).toMatch(/supplied by the agent, not verified/i);

    expect(await page.getByTestId('status').innerText()).toMatch(/pending/i);
    expect(await page.getByTestId('approvals').innerText()).toBe('1 of 2 needed');
    expect(await page.getByTestId('expires').innerText()).toBe('1 Mar 2026, 12:58 UTC'); // the browser's zone is UTC here
    expect(await page.getByTestId('expires').getAttribute('title')).toBe('2026-03-01 12:58:00 UTC');
    expect(await page.getByTestId('time-left').innerText()).toMatch(/^58 minutes left to decide · expires 1 Mar 2026, 12:58 UTC$/);
    expect(await page.getByTestId('expires').getAttribute('datetime')).toBe('2026-03-01T12:58:00.000Z');
    expect(await page.getByRole('button', { name: 'Approve' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Deny' }).isVisible()).toBe(true);
    expect(await page.getByLabel(/Reason/).getAttribute('maxlength')).toBe('1000');
    expect(dialogs).toEqual([]);

    await page.screenshot({ path: '/tmp/review-page.png', fullPage: true });
    await page.context().close();
  });

  it('escaping alone holds: served without any CSP, the hostile page still runs nothing', async () => {
    const { page, dialogs } = await open(renderReviewPage(hostileView()), { headers: { 'content-type': 'text/html; charset=utf-8' } });
    await page.getByTestId('agent').hover();
    await page.getByTestId('votes').hover();
    expect(await pwned(page)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.context().close();
  });

  it('REVIEW_PAGE_HEADERS really block inline script, which runs without them', async () => {
    // A deliberately unescaped script proves the CSP header is well formed: a typo would silently disable it.
    const injected = renderReviewPage(hostileView()).replace('</main>', '<script>window.__pwned = "injected"</script></main>');

    const bare = await open(injected, { headers: { 'content-type': 'text/html; charset=utf-8' }, path: '/bare' });
    expect(await pwned(bare.page)).toBe('injected');
    await bare.page.context().close();

    const guarded = await open(injected, { path: '/guarded' });
    expect(await pwned(guarded.page)).toBeUndefined();
    expect(guarded.consoleErrors.join('\n')).toMatch(/Content Security Policy/);
    await guarded.page.context().close();
  });

  it('cannot be framed by another page, which it could be without its headers', async () => {
    const html = renderReviewPage(hostileView());
    routes.set('/guarded', { html, headers: REVIEW_PAGE_HEADERS });
    routes.set('/bare', { html, headers: { 'content-type': 'text/html; charset=utf-8' } });
    const framedCount = async (src: string): Promise<number> => {
      // goto waits for the load event, which waits for the iframe to load or be refused.
      const { page } = await open(`<!doctype html><title>frame</title><iframe src="${src}"></iframe>`, {
        headers: { 'content-type': 'text/html' },
        path: `/framer${src}`,
      });
      const frame = page.frames().find((f) => f !== page.mainFrame());
      expect(frame).toBeDefined();
      const count = await frame!.locator('[data-testid="status"]').count();
      await page.context().close();
      return count;
    };
    expect(await framedCount('/bare')).toBe(1);
    // Chromium replaces a refused frame by an error page: the review content never renders inside it.
    expect(await framedCount('/guarded')).toBe(0);
  });

  it('pressing Approve posts decision=approve and the typed reason to the form action', async () => {
    const { page, dialogs } = await open(renderReviewPage(hostileView()));
    const reason = 'Checked ticket <OPS-42> & the bucket; fine ✓';
    await page.getByLabel(/Reason/).fill(reason);
    await Promise.all([page.waitForURL(`${base}${FORM_ACTION}`), page.waitForEvent('load'), page.getByTestId('approve').click()]);

    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toBe(FORM_ACTION);
    expect(posts[0]!.contentType).toBe('application/x-www-form-urlencoded');
    expect([...posts[0]!.form.entries()]).toEqual([
      ['reason', reason],
      ['decision', 'approve'],
    ]);
    // The answer page shows the vote and offers no second decision.
    await expect.poll(() => page.getByTestId('notice').innerText()).toBe('Your approve was recorded.');
    expect(await page.getByTestId('approve').count()).toBe(0);
    const outcome = await page.getByTestId('outcome').innerText();
    expect(outcome).toMatch(/You approved this request/);
    expect(outcome).not.toMatch(/waiting/); // two of two approvals: nothing left to wait for
    expect(dialogs).toEqual([]);
    await page.context().close();
  });

  it('pressing Deny with no reason posts decision=deny and an empty reason', async () => {
    const { page } = await open(renderReviewPage(hostileView()));
    await Promise.all([page.waitForEvent('load'), page.getByTestId('deny').click()]);
    expect(posts.map((p) => Object.fromEntries(p.form))).toEqual([{ reason: '', decision: 'deny' }]);
    await page.context().close();
  });

  it('offers no buttons once the approver voted, or once the request is settled', async () => {
    const voted = hostileView({
      votes: [{ approver: APPROVER, decision: 'approve', at: '2026-03-01T11:59:00.000Z' }],
    });
    const afterVote = await open(renderReviewPage(voted), { path: '/voted' });
    expect(await afterVote.page.locator('form, button').count()).toBe(0);
    expect(await afterVote.page.getByTestId('outcome').innerText()).toMatch(/You approved this request .* waiting for 1 more approval\./s);
    await afterVote.page.context().close();

    const denied = hostileView({ status: 'denied', decidedBy: 'approvers', decidedAt: '2026-03-01T11:59:30.000Z', reason: 'no <ticket>' });
    const settled = await open(renderReviewPage(denied), { path: '/denied' });
    expect(await settled.page.locator('form, button').count()).toBe(0);
    expect(await settled.page.getByTestId('status').innerText()).toMatch(/denied/i);
    expect(await settled.page.getByTestId('outcome').innerText()).toMatch(/Denied by the approvers on .*Reason: .?no <ticket>/s);
    await settled.page.context().close();
  });

  it('fits a phone screen: no sideways scrolling, thumb-sized buttons', async () => {
    const { page } = await open(renderReviewPage(hostileView({ resource: `arn:aws:s3:::${'very-long-bucket-name-'.repeat(20)}` })), {
      viewport: { width: 375, height: 740 },
    });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBe(0);
    for (const id of ['approve', 'deny']) {
      const box = await page.getByTestId(id).boundingBox();
      expect(box!.height).toBeGreaterThanOrEqual(44);
      expect(box!.x + box!.width).toBeLessThanOrEqual(375);
    }
    await page.screenshot({ path: '/tmp/review-page-phone.png', fullPage: true });
    await page.context().close();
  });

  it('renders a message page for a bad link, with the same headers and no action', async () => {
    const { page, dialogs } = await open(renderMessagePage('Link expired', 'Ask for a new link. <script>window.__pwned=1</script>', 'error'), {
      path: '/expired',
    });
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Link expired');
    expect(await page.getByRole('alert').innerText()).toContain('<script>window.__pwned=1</script>');
    expect(await pwned(page)).toBeUndefined();
    expect(await page.locator('form, button').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await page.context().close();
  });

  describe('the first screen', () => {
    const realistic = (overrides: Partial<ReviewView['request']> = {}) =>
      hostileView({
        action: 'data.export',
        resource: 'arn:aws:s3:::customers',
        environment: 'production',
        requester: 'arn:aws:iam::123456789012:role/agent',
        onBehalfOf: 'carol@example.com',
        agent: { name: 'analyst-bot', model: 'some-llm', runId: 'r-42' },
        justification: 'Quarterly churn analysis for the finance team.',
        approvers: ['arn:aws:iam::123456789012:user/carol', APPROVER, 'dave@example.com'],
        ...overrides,
      });

    it.each([
      ['a phone', { width: 390, height: 844 }, realistic()],
      ['a laptop', { width: 1280, height: 800 }, realistic()],
      ['a phone, hostile request', { width: 390, height: 844 }, hostileView()],
    ])('on %s shows the summary, the time left, the risk and both buttons with the reason without scrolling', async (_name, viewport, view) => {
      const { page } = await open(renderReviewPage(view), { viewport, path: `/first-${viewport.width}` });
      for (const id of ['summary', 'time-left', 'risk', 'reason', 'approve', 'deny']) {
        const box = await page.getByTestId(id).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.y, id).toBeGreaterThanOrEqual(0);
        expect(box!.y + box!.height, id).toBeLessThanOrEqual(viewport.height);
      }
      // The heading is a sentence, not the action id alone, and the context follows below the decision.
      const summary = await page.getByRole('heading', { level: 1 }).innerText();
      expect(summary).not.toBe(view.request.action);
      expect(summary).toContain(' asks to run ');
      const decisionBottom = (await page.getByTestId('deny').boundingBox())!.y;
      expect((await page.getByTestId('parameters').boundingBox())!.y).toBeGreaterThan(decisionBottom);
      expect(await page.getByTestId('time-left').innerText()).toContain('58 minutes left');
      expect(await page.getByTestId('risk').innerText()).toMatch(/^Caution: this runs in a production environment \(prod/);
      await page.screenshot({ path: `/tmp/review-first-${viewport.width}.png` });
      await page.context().close();
    });

    it('at 390×844 with the rule offering grants: the choice, the reason and both buttons still on the first screen; picking 8 hours posts for=8h', async () => {
      const viewport = { width: 390, height: 844 };
      const view = realistic({ grantOffer: { maxForSeconds: 8 * 3600, scope: ['action', 'resource', 'requester'] } });
      const { page } = await open(renderReviewPage(view), { viewport, path: FORM_ACTION });
      for (const id of ['summary', 'time-left', 'risk', 'reason', 'for', 'approve', 'deny']) {
        const box = await page.getByTestId(id).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.y, id).toBeGreaterThanOrEqual(0);
        expect(box!.y + box!.height, id).toBeLessThanOrEqual(viewport.height);
      }
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(overflow).toBe(0);
      // This call only is the default; the note says what a grant does.
      expect(await page.getByLabel('Approve for').inputValue()).toBe('');
      expect(await page.getByTestId('grant-note').innerText()).toMatch(
        /^Approving for a while \(up to 8 hours\) also approves later requests by arn:aws:iam::123456789012:role\/agent to run data\.export on arn:aws:s3:::customers that rule exports-need-two decides, without asking anyone/,
      );
      await page.getByLabel('Approve for').selectOption({ label: '8 hours' });
      await Promise.all([page.waitForEvent('load'), page.getByTestId('approve').click()]);
      expect(posts.map((p) => Object.fromEntries(p.form))).toEqual([{ reason: '', for: '8h', decision: 'approve' }]);
      await page.screenshot({ path: '/tmp/review-first-390-grant.png' });
      await page.context().close();
    });

    it('reads the same without JavaScript: the time left and UTC times as rendered', async () => {
      const { page } = await open(renderReviewPage(realistic()), { javaScriptEnabled: false, timezoneId: 'Asia/Tokyo', path: '/nojs' });
      expect(await page.getByTestId('time-left').innerText()).toBe('58 minutes left to decide · expires 1 Mar 2026, 12:58 UTC');
      expect(await page.getByTestId('expires').innerText()).toBe('1 Mar 2026, 12:58 UTC');
      await page.context().close();
    });

    it("shows times in the viewer's zone, each with the exact UTC time in its title, and keeps the time left current", async () => {
      const { page } = await open(renderReviewPage(realistic()), { timezoneId: 'Asia/Tokyo', path: '/tokyo' });
      expect(await page.getByTestId('expires').innerText()).toBe('1 Mar 2026, 21:58 GMT+9');
      const times = page.locator('time');
      expect(await times.count()).toBeGreaterThanOrEqual(3);
      for (const time of await times.all()) {
        const datetime = (await time.getAttribute('datetime'))!;
        expect(await time.getAttribute('title')).toBe(`${datetime.slice(0, 10)} ${datetime.slice(11, 19)} UTC`);
      }
      // Ten minutes later by the browser's clock: the script's next tick says so.
      await page.clock.setFixedTime(new Date(NOW.getTime() + 10 * 60_000));
      await page.clock.runFor(16_000);
      await expect.poll(() => page.getByTestId('time-left').innerText()).toMatch(/^48 minutes left/);
      await page.context().close();
    });
  });

  describe('a settled request', () => {
    it.each([
      ['approved', 'approvers', /^Approved by arn:aws:iam::123456789012:user\/carol on 1 Mar 2026, 11:59 UTC\./],
      ['denied', 'approvers', /^Denied by the approvers on 1 Mar 2026, 11:59 UTC\./],
      ['expired', 'timeout', /^Expired: nobody decided before the deadline, 1 Mar 2026, 12:58 UTC\./],
      ['cancelled', 'requester', /^Cancelled by the requester on 1 Mar 2026, 11:59 UTC\./],
    ] as const)('%s: says what happened, with no countdown and no buttons', async (status, decidedBy, said) => {
      const view = hostileView({ status, decidedBy, decidedAt: '2026-03-01T11:59:00.000Z', ...(status === 'cancelled' ? { votes: [] } : {}) });
      const { page } = await open(renderReviewPage(view), { path: `/settled-${status}`, viewport: { width: 390, height: 844 } });
      expect(await page.getByTestId('outcome').innerText()).toMatch(said);
      const outcome = await page.getByTestId('outcome').boundingBox();
      expect(outcome!.y + outcome!.height).toBeLessThanOrEqual(844);
      expect(await page.getByTestId('time-left').count()).toBe(0);
      expect(await page.locator('[data-countdown], [data-relative]').count()).toBe(0);
      const body = await page.locator('body').innerText();
      expect(body).not.toMatch(/minutes left|Expires in|in \d+ minutes/);
      expect(await page.locator('form, button').count()).toBe(0);
      if (status === 'cancelled') {
        expect(await page.getByTestId('votes').innerText()).toBe('No votes were cast.');
      }
      await page.context().close();
    });
  });

  describe('accessibility (axe-core)', () => {
    const PAGES: ReadonlyArray<readonly [string, () => { html: string; headers?: Record<string, string> }]> = [
      ['a pending request', () => ({ html: renderReviewPage(hostileView()) })],
      ...(['approved', 'denied', 'expired', 'cancelled'] as const).map(
        (status) =>
          [
            `a ${status} request`,
            () => ({
              html: renderReviewPage(
                hostileView({ status, decidedBy: status === 'cancelled' ? 'requester' : 'approvers', decidedAt: '2026-03-01T11:59:00.000Z' }),
              ),
            }),
          ] as const,
      ),
      ['a bad link', () => ({ html: renderMessagePage('Link expired', 'Ask for a new link.', 'error') })],
      [
        'the HTML email',
        () => ({
          html: approvalRequestHtml(sampleState(), 'https://cs.example.com/v1/review/tok_abc', new Date('2026-01-01T00:02:00.000Z')),
          headers: { 'content-type': 'text/html; charset=utf-8' },
        }),
      ],
    ];

    it.each(PAGES.flatMap(([name, make]) => [390, 1280].map((width) => [name, width, make] as const)))(
      '%s at %i px has no serious or critical violations',
      async (name, width, make) => {
        const { html, headers } = make();
        const { page } = await open(html, {
          path: `/a11y-${name.replace(/\W+/g, '-')}-${width}`,
          viewport: { width, height: width < 600 ? 844 : 800 },
          ...(headers ? { headers } : {}),
        });
        expect(await seriousA11yViolations(page)).toEqual([]);
        await page.context().close();
      },
    );

    it('finds a violation when there is one', async () => {
      const { page } = await open('<!doctype html><html><head><title>x</title></head><body><main><img src="data:,"><input type="text"></main></body></html>', {
        headers: { 'content-type': 'text/html; charset=utf-8' },
        path: '/a11y-broken',
      });
      const found = await seriousA11yViolations(page);
      expect(found.some((v) => v.startsWith('image-alt') || v.startsWith('label'))).toBe(true);
      await page.context().close();
    });
  });

  it('the HTML email reads on a 390 px phone: the expiry and time left up top, nothing wider than the screen', async () => {
    const state = sampleState({ resource: `arn:aws:s3:::${'very-long-bucket-name-'.repeat(12)}`, parameters: { key: 'x'.repeat(300) } });
    const html = approvalRequestHtml(state, 'https://cs.example.com/v1/review/tok_abc', new Date('2026-01-01T00:02:00.000Z'));
    const { page } = await open(html, { headers: { 'content-type': 'text/html; charset=utf-8' }, path: '/email', viewport: { width: 390, height: 844 } });
    expect(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBe(0);
    const expires = page.getByTestId('expires');
    expect(await expires.innerText()).toBe('Expires 1 Jan 2026, 01:00 UTC (58 minutes left when this was sent)');
    const box = await expires.boundingBox();
    expect(box!.y + box!.height).toBeLessThanOrEqual(844);
    await page.context().close();
  });
});
