import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeHtml, safeHref } from '../../lambdas/core/html';
import { PAGE_SCRIPT, REVIEW_PAGE_HEADERS, type ReviewView, renderMessagePage, renderReviewPage } from '../../lambdas/decision/review-page';
import { formFor } from '../../lambdas/pages/request';
import * as localHtml from '../../local/html';

const APPROVER = 'arn:aws:iam::123456789012:user/bob';
const NOW = new Date('2026-03-01T12:00:00.000Z');

const HOSTILE = {
  action: 'data.export<script>alert(1)</script>',
  resource: 'javascript:alert(1)//"><img src=x onerror=alert(1)>',
  environment: "prod' onmouseover='alert(1)",
  justification: '<!channel> <script>window.__pwned=1</script>',
  onBehalfOf: '<@U024BE7LH> "><svg onload=alert(1)>',
  agentName: '<iframe src="javascript:alert(1)">',
  agentModel: '</pre><script>alert(2)</script>',
  agentRunId: 'run&<b>',
  voteReason: '<a href="javascript:alert(1)">click</a>',
  parameter: '</pre><img src=x onerror=alert(3)>',
};

function view(request: Partial<ReviewView['request']> = {}, extra: Partial<ReviewView> = {}): ReviewView {
  return {
    approver: APPROVER,
    formAction: '/v1/review/tok_abc',
    now: NOW,
    ...extra,
    request: {
      id: 'req_1',
      status: 'pending',
      action: HOSTILE.action,
      resource: HOSTILE.resource,
      environment: HOSTILE.environment,
      parameters: { nested: { list: [1, { html: HOSTILE.parameter }] } },
      justification: HOSTILE.justification,
      onBehalfOf: HOSTILE.onBehalfOf,
      requester: 'arn:aws:iam::123456789012:role/agent',
      agent: { name: HOSTILE.agentName, model: HOSTILE.agentModel, runId: HOSTILE.agentRunId },
      rule: 'exports',
      requiredApprovals: 2,
      createdAt: '2026-03-01T11:55:00.000Z',
      expiresAt: '2026-03-01T12:58:00.000Z',
      votes: [{ approver: 'arn:aws:iam::123456789012:user/carol', decision: 'approve', reason: HOSTILE.voteReason, at: '2026-03-01T11:58:00.000Z' }],
      ...request,
    },
  };
}

/** Every start tag in the document, e.g. `<span class="x">`; text that merely looks like a tag is escaped and absent. */
function tags(html: string): string[] {
  return html.match(/<[a-zA-Z][^>]*>/g) ?? [];
}

describe('renderReviewPage escaping', () => {
  const html = renderReviewPage(view());

  it.each(Object.entries(HOSTILE).filter(([key]) => key !== 'parameter'))('shows %s only escaped', (_key, value) => {
    expect(html).toContain(escapeHtml(value));
    expect(html).not.toContain(value);
  });

  it('renders parameters as escaped, pretty-printed JSON in a <pre>', () => {
    const json = JSON.stringify(view().request.parameters, null, 2);
    expect(html).toContain(`<pre class="long" tabindex="0" data-testid="parameters">${escapeHtml(json)}</pre>`);
    expect(html).not.toContain(HOSTILE.parameter);
  });

  it('has no script but its own, no event handler, no link and no external resource at all', () => {
    const own = `<script>${PAGE_SCRIPT}</script>`;
    expect(html.split(own)).toHaveLength(2);
    expect(html.split('<script')).toHaveLength(2);
    const all = tags(html.replace(own, ''));
    expect(all.length).toBeGreaterThan(20);
    const allowed = new Set([
      'html',
      'head',
      'meta',
      'title',
      'style',
      'body',
      'main',
      'header',
      'p',
      'span',
      'h1',
      'h2',
      'h3',
      'code',
      'bdi',
      'div',
      'section',
      'dl',
      'dt',
      'dd',
      'pre',
      'strong',
      'time',
      'ul',
      'li',
      'q',
      'form',
      'label',
      'textarea',
      'button',
    ]);
    for (const tag of all) {
      expect(allowed, tag).toContain(/^<([a-z0-9]+)/.exec(tag)![1]);
      expect(tag).not.toMatch(/\s(on[a-z]+|src|href|srcset|style)\s*=/i);
    }
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('marks the justification as supplied by the agent and not verified', () => {
    expect(html).toMatch(/<strong>Supplied by the agent, not verified\.<\/strong>/);
    expect(html).toContain(`data-testid="justification" aria-describedby="justification-note">${escapeHtml(HOSTILE.justification)}</pre>`);
  });

  it('makes bidi overrides and invisible characters visible instead of obeying them', () => {
    const out = renderReviewPage(view({ action: 'x\u202Eexe.txt', environment: 'pro\u200Bd\u2066', justification: 'a\u0007b' }));
    for (const hidden of ['\u202E', '\u200B', '\u2066', '\u0007']) expect(out).not.toContain(hidden);
    expect(out).toContain('<title>Review: x[U+202E]exe.txt</title>');
    expect(out).toContain('x<span class="hidden-char" title="invisible character U+202E">U+202E</span>exe.txt');
    expect(out).toMatch(/pro<span[^>]*>U\+200B<\/span>d<span[^>]*>U\+2066<\/span>/);
    expect(out).toMatch(/a<span[^>]*>U\+0007<\/span>b/);
  });

  it('escapes the notice and the form action', () => {
    const out = renderReviewPage(view({}, { formAction: '/v1/review/a"b', notice: { kind: 'error', text: '<b>refused</b>' } }));
    expect(out).toContain('action="/v1/review/a&quot;b"');
    expect(out).toContain('<div class="notice notice-error" role="alert" data-testid="notice"><p>&lt;b&gt;refused&lt;/b&gt;</p></div>');
  });
});

describe('renderReviewPage content', () => {
  it('shows who, what, the rule, approvals given against needed, and expiry in ISO and human form', () => {
    const html = renderReviewPage(view({ requester: 'arn:aws:iam::1:role/agent-runner', rule: 'exports-need-two' }));
    expect(html).toContain('<bdi data-testid="requester">arn:aws:iam::1:role/agent-runner</bdi>');
    expect(html).toContain('<code data-testid="rule">exports-need-two</code>');
    expect(html).toContain('<span data-testid="approvals">1 of 2 needed</span>');
    expect(html).toContain(
      '<time datetime="2026-03-01T12:58:00.000Z" title="2026-03-01 12:58:00 UTC" data-local data-testid="expires">1 Mar 2026, 12:58 UTC</time>',
    );
    expect(html).toContain('<span data-relative="2026-03-01T12:58:00.000Z">in 58 minutes</span>');
    expect(html).toContain('<strong data-countdown="2026-03-01T12:58:00.000Z">58 minutes left to decide</strong>');
    expect(html).toContain('<span class="status status-pending" data-testid="status">Pending</span>');
    expect(html).toMatch(/Approved<\/span> by <bdi>arn:aws:iam::123456789012:user\/carol<\/bdi>/);
  });

  it('says how long ago a past time was, and shows an unparseable time as escaped text', () => {
    expect(renderReviewPage(view({ expiresAt: '2026-03-01T09:00:00.000Z' }))).toContain('3 hours ago');
    expect(renderReviewPage(view({ expiresAt: '2026-03-01T09:00:00.000Z' }))).toContain('>The deadline has passed</strong>');
    expect(renderReviewPage(view({ expiresAt: '2026-03-04T12:00:00.000Z' }))).toContain('in 3 days');
    expect(renderReviewPage(view({ expiresAt: '<soon>' }))).toContain('<span data-testid="expires">&lt;soon&gt;</span>');
  });

  it('says plainly when optional context is missing', () => {
    const html = renderReviewPage(
      view({ justification: undefined, onBehalfOf: undefined, agent: undefined, parameters: undefined, resource: undefined, expiresAt: undefined, votes: [] }),
    );
    expect(html).toContain('<p class="none" data-testid="justification">No justification was given.</p>');
    expect(html).toContain('<span class="none" data-testid="on-behalf-of">not given</span>');
    expect(html).toContain('<span class="none" data-testid="resource">not given</span>');
    expect(html).toContain('<span class="none" data-testid="agent">not stated</span>');
    expect(html).toContain('<p class="none" data-testid="parameters">No parameters.</p>');
    expect(html).toContain('<span class="none" data-testid="expires">no expiry</span>');
    expect(html).toContain('<p class="none" data-testid="votes">No votes yet.</p>');
  });

  it('is an accessible document: language, one h1, a labelled reason field', () => {
    const html = renderReviewPage(view());
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html.match(/<h1[\s>]/g)).toHaveLength(1);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<label for="reason">');
    expect(html).toContain('<textarea id="reason" name="reason"');
  });
});

describe('renderReviewPage decision form', () => {
  it('offers a POST form with a bounded reason and two decision buttons while pending and not yet voted', () => {
    const html = renderReviewPage(view());
    expect(html).toContain('<form method="post" action="/v1/review/tok_abc"');
    expect(html).toMatch(/<textarea [^>]*maxlength="1000"/);
    expect(html).toContain('<button type="submit" name="decision" value="approve" id="approve" class="approve" data-testid="approve">Approve</button>');
    expect(html).toContain('<button type="submit" name="decision" value="deny" id="deny" class="deny" data-testid="deny">Deny</button>');
  });

  it('shows the approver their own vote instead of a form', () => {
    const html = renderReviewPage(view({ votes: [{ approver: APPROVER, decision: 'deny', reason: 'no', at: '2026-03-01T11:59:00.000Z' }] }));
    expect(html).not.toContain('<form');
    expect(html).not.toContain('<button');
    expect(html).toContain('You denied this request on');
    expect(html).toMatch(/Denied<\/span> by <bdi>arn:aws:iam::123456789012:user\/bob<\/bdi> \(you\)/);
  });

  it('counts how many approvals are still missing after the approver approved', () => {
    const votes: ReviewView['request']['votes'] = [{ approver: APPROVER, decision: 'approve', at: '2026-03-01T11:59:00.000Z' }];
    expect(renderReviewPage(view({ votes, requiredApprovals: 3 }))).toContain('It is waiting for 2 more approvals.');
    expect(renderReviewPage(view({ votes, requiredApprovals: 1 }))).not.toContain('waiting for');
  });

  it.each([
    ['approved', 'approvers', '<strong>Approved</strong> by <bdi>arn:aws:iam::123456789012:user/carol</bdi> on <time'],
    ['denied', 'approvers', '<strong>Denied</strong> by the approvers on <time'],
    ['expired', 'timeout', '<strong>Expired</strong>: nobody decided before the deadline, <time'],
    ['cancelled', 'requester', '<strong>Cancelled by the requester</strong> on <time'],
  ] as const)('says what happened and shows no form and no countdown once %s', (status, decidedBy, said) => {
    const html = renderReviewPage(view({ status, decidedBy, decidedAt: '2026-03-01T11:59:00.000Z', reason: '<why>' }));
    expect(html).not.toContain('<form');
    expect(html).not.toContain('<button');
    expect(html).toContain(said);
    expect(html).not.toContain('data-countdown="');
    expect(html).not.toContain('data-relative="');
    expect(html).not.toContain('minutes left');
    expect(html).not.toContain('in 58 minutes');
    expect(html).toContain('Reason: <q>&lt;why&gt;</q>');
    expect(html).toContain(`data-testid="status">${status[0]!.toUpperCase()}${status.slice(1)}</span>`);
  });

  it('says an approval that lapsed unredeemed was approved, then lapsed (redeemWithin)', () => {
    const html = renderReviewPage(
      view({ status: 'expired', decidedBy: 'approvers', decidedAt: '2026-03-01T11:59:00.000Z', reason: 'not redeemed', lapsedAt: '2026-03-01T12:14:00.000Z' }),
    );
    expect(html).toContain('<strong>Expired</strong>: approved by <bdi>arn:aws:iam::123456789012:user/carol</bdi> on <time');
    expect(html).toContain('but not redeemed in time; the approval lapsed on <time datetime="2026-03-01T12:14:00.000Z"');
    expect(html).not.toContain('nobody decided');
  });

  it('says "no votes were cast", not "no votes yet", on a settled request without votes', () => {
    expect(renderReviewPage(view({ status: 'cancelled', decidedBy: 'requester', votes: [] }))).toContain('No votes were cast.');
    expect(renderReviewPage(view({ status: 'cancelled', decidedBy: 'requester', votes: [] }))).not.toContain('No votes yet');
    expect(renderReviewPage(view({ votes: [] }))).toContain('No votes yet.');
  });

  it('says approved by policy when no person approved', () => {
    const html = renderReviewPage(view({ status: 'approved', decidedBy: 'policy', votes: [], rule: 'reads' }));
    expect(html).toContain('<strong>Approved</strong> by policy (rule <code>reads</code>)');
  });

  it('heads the page with a plain sentence, not the action id alone', () => {
    const html = renderReviewPage(
      view({ requester: 'arn:aws:iam::1:role/agent', action: 'data.export', resource: 'arn:aws:s3:::customers', environment: 'production' }),
    );
    const h1 = /<h1[^>]*>(.*?)<\/h1>/s.exec(html)![1]!.replace(/<[^>]+>/g, '');
    expect(h1).toBe('arn:aws:iam::1:role/agent asks to run data.export on arn:aws:s3:::customers in production');
  });

  it.each([
    ['production', true],
    ['prod', true],
    ['eu-prod-1', true],
    ['PRD', true],
    ['staging', false],
    ['product-dev', false],
    // Respelled as policy would still read it: full-width letters, a hidden character inside the word.
    ['\uff50\uff52\uff4f\uff44', true],
    ['pro\u200bd-eu', true],
    ['Live ', true],
    ['prod\u202etxt.exe', true],
  ])('shows a risk cue for environment %j: %s', (environment, shown) => {
    expect(renderReviewPage(view({ environment })).includes('data-testid="risk"')).toBe(shown);
  });

  it('shows a risk cue when the rule marks the request high-risk', () => {
    const html = renderReviewPage(view({ environment: 'dev', highRisk: true, rule: 'payments' }));
    expect(html).toMatch(/data-testid="risk">.*rule <code>payments<\/code> marks it high-risk/s);
  });

  it('names the other approvers: who voted and who may still vote', () => {
    const carol = 'arn:aws:iam::123456789012:user/carol';
    const dave = 'dave@example.com';
    const html = renderReviewPage(view({ approvers: [carol, APPROVER, dave] }));
    expect(html).toContain(`<li><bdi>${carol}</bdi>: <span class="standing">approved</span></li>`);
    expect(html).toContain(`<li><bdi>${APPROVER}</bdi> (you): <span class="standing">may still vote</span></li>`);
    expect(html).toContain(`<li><bdi>${dave}</bdi>: <span class="standing">may still vote</span></li>`);
    const expired = renderReviewPage(view({ approvers: [carol, dave], status: 'expired', decidedBy: 'timeout' }));
    expect(expired).toContain(`<li><bdi>${dave}</bdi>: <span class="standing">did not vote</span></li>`);
  });

  it('offers no form to the requester or to the human the agent acts for', () => {
    const asRequester = renderReviewPage(view({ requester: APPROVER }, { self: 'requester' }));
    expect(asRequester).not.toContain('<form');
    expect(asRequester).toContain('it was made by you');
    const asSubject = renderReviewPage(view({ onBehalfOf: APPROVER }, { self: 'onBehalfOf' }));
    expect(asSubject).not.toContain('<form');
    expect(asSubject).toContain('it was made on your behalf');
  });
});

describe('renderReviewPage approving for a while', () => {
  const offer = { maxForSeconds: 8 * 3600, scope: ['action' as const, 'resource' as const, 'requester' as const] };

  it('offers no choice when the rule grants nothing: the vote is for this call only', () => {
    const html = renderReviewPage(view());
    expect(html).not.toContain('name="for"');
    expect(html).not.toContain('data-testid="grant-note"');
  });

  it('offers "this call only", preselected, then lengths up to and including the rule\'s maxFor', () => {
    const html = renderReviewPage(view({ grantOffer: offer }));
    const select = /<select id="for" name="for"[^>]*>(.*?)<\/select>/s.exec(html)?.[1] ?? '';
    expect([...select.matchAll(/<option value="([^"]*)"( selected)?>([^<]*)<\/option>/g)].map((m) => [m[1], m[3], Boolean(m[2])])).toEqual([
      ['', 'this call only', true],
      ['1h', '1 hour', false],
      ['8h', '8 hours', false],
    ]);
    // Inside the form, before the buttons.
    const form = /<form[^>]*data-testid="decision-form">(.*?)<\/form>/s.exec(html)![1]!;
    expect(form.indexOf('name="for"')).toBeLessThan(form.indexOf('data-testid="approve"'));
    const month = renderReviewPage(view({ grantOffer: { ...offer, maxForSeconds: 30 * 86_400 } }));
    expect([...month.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual(['1h', '8h', '1d', '7d', '30d']);
    const short = renderReviewPage(view({ grantOffer: { ...offer, maxForSeconds: 90 * 60 } }));
    expect([...short.matchAll(/<option value="([^"]*)">([^<]*)</g)].map((m) => `${m[1]}=${m[2]}`)).toEqual(['1h=1 hour', '90m=90 minutes']);
  });

  it('says in words what a grant does: whose later requests, for what, escaped', () => {
    const html = renderReviewPage(view({ grantOffer: offer }));
    const note = /<p class="hint grant-note"[^>]*>(.*?)<\/p>/s.exec(html)![1]!;
    expect(note).toContain('Approving for a while (up to 8 hours) also approves later requests by <bdi>arn:aws:iam::123456789012:role/agent</bdi>');
    expect(note).toContain(
      `to run <code>${escapeHtml(HOSTILE.action)}</code> on <bdi>${escapeHtml(HOSTILE.resource)}</bdi> that rule <code>exports</code> decides`,
    );
    expect(note).toContain('without asking anyone, until that time has passed');
    expect(note).not.toContain(HOSTILE.action);
    expect(note).not.toContain('environment');
    // Two approvals needed: the grant needs both votes to choose a while.
    expect(note).toContain('A grant is made only if every approving vote chooses a while.');
    expect(renderReviewPage(view({ grantOffer: offer, requiredApprovals: 1 }))).not.toContain('every approving vote');
  });

  it('says when the approval made a grant, until when, and when it was revoked', () => {
    const approved = view({
      status: 'approved',
      decidedBy: 'approvers',
      decidedAt: '2026-03-01T11:59:00.000Z',
      grantOffer: offer,
      grant: { id: 'grt_1', until: '2026-03-01T19:59:00.000Z' },
    });
    const html = renderReviewPage(approved);
    expect(html).not.toContain('name="for"');
    expect(html).toMatch(/data-testid="grant-made">Approved <strong>for a while<\/strong>: grant <code>grt_1<\/code> approves later requests by/);
    expect(html).toMatch(/until <time datetime="2026-03-01T19:59:00.000Z"[^>]*data-testid="grant-until">1 Mar 2026, 19:59 UTC<\/time>\.<\/p>/);
    const revoked = renderReviewPage(view({ ...approved.request, grantRevoked: { by: 'carol', reason: '<b>done</b>', at: '2026-03-01T12:30:00.000Z' } }));
    expect(revoked).toContain('by <bdi>carol</bdi>: <q>&lt;b&gt;done&lt;/b&gt;</q>.');
  });

  it("reads the form's choice as the vote's for: only with Approve, and not when this call only is chosen", () => {
    expect(formFor(new URLSearchParams('decision=approve&for=8h'))).toEqual({ for: '8h' });
    expect(formFor(new URLSearchParams('decision=approve&for='))).toEqual({});
    expect(formFor(new URLSearchParams('decision=approve'))).toEqual({});
    expect(formFor(new URLSearchParams('decision=deny&for=8h'))).toEqual({});
  });

  it('says when a request was approved at once by a grant, and whose approval made it', () => {
    const html = renderReviewPage(
      view({
        status: 'approved',
        decidedBy: 'grant',
        votes: [],
        decidedAt: '2026-03-01T11:56:00.000Z',
        grantedBy: { grant: 'grt_0', request: 'act_0', until: '2026-03-01T18:00:00.000Z', approvers: ['carol<i>'] },
      }),
    );
    const outcome = /data-testid="outcome">(.*?)<\/div>/s.exec(html)![1]!;
    expect(outcome).toContain(
      '<strong>Approved</strong> by a grant (<code data-testid="granted-by">grt_0</code>, made when <bdi>carol&lt;i&gt;</bdi> approved request <code>act_0</code> for a while, holding until',
    );
  });
});

describe('renderMessagePage', () => {
  it('escapes title and text, and offers no action', () => {
    const html = renderMessagePage('<Expired>', 'Ask <b>again</b>', 'error');
    expect(html).toContain('<title>&lt;Expired&gt;</title>');
    expect(html).toContain('<h1>&lt;Expired&gt;</h1>');
    expect(html).toContain('<div class="notice notice-error" role="alert" data-testid="message"><p>Ask &lt;b&gt;again&lt;/b&gt;</p></div>');
    expect(html).not.toContain('<form');
  });

  it('uses a polite status role for information', () => {
    expect(renderMessagePage('Done', 'Recorded.', 'info')).toContain('role="status"');
  });
});

describe('REVIEW_PAGE_HEADERS', () => {
  it('forbid script, framing, referrers and caching', () => {
    expect(REVIEW_PAGE_HEADERS).toEqual({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; script-src 'sha256-${createHash('sha256').update(PAGE_SCRIPT).digest('base64')}'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    expect(Object.isFrozen(REVIEW_PAGE_HEADERS)).toBe(true);
  });
});

describe('core html helpers', () => {
  it('escape the five HTML-significant characters and nothing else', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a> ✓`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt; ✓');
    expect(escapeHtml(undefined)).toBe('');
  });

  it('let only http(s) URLs become links', () => {
    expect(safeHref('https://example.com/a?b=1')).toBe('https://example.com/a?b=1');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('data:text/html,x')).toBeUndefined();
    expect(safeHref('not a url')).toBeUndefined();
  });

  it('are the ones local pages use', () => {
    expect(localHtml.escapeHtml).toBe(escapeHtml);
    expect(localHtml.safeHref).toBe(safeHref);
  });
});
