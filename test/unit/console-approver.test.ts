/**
 * The console's approver pages with every port in memory: the inbox (what waits, soonest deadline first, decided in
 * place; past decisions), a request's page (escaped and hidden-character-marked context, the timeline with each
 * signature checked, the receipt for the requester alone), and the decision form's defences and answers.
 */
import { describe, expect, it } from 'vitest';
import type { HttpEvent, HttpResult } from '../../lambdas/adapters/http';
import { askForAction } from '../../lambdas/app/ask';
import { castVote } from '../../lambdas/app/vote';
import type { ConsoleContext } from '../../lambdas/console/context';
import { renderInbox, showInbox } from '../../lambdas/console/inbox';
import { decideRequest, showRequest } from '../../lambdas/console/request-page';
import type { Viewer } from '../../lambdas/console/viewer';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { escapeHtml } from '../../lambdas/core/html';
import type { ActionRequest } from '../../lambdas/core/request';
import { type MemoryPorts, memoryPorts } from '../fixtures/memory-ports';

const AGENT = 'arn:aws:iam::111122223333:role/agent';
const config = parseConfig(`
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, email: alice@example.com }
      - { id: bob@example.com, email: bob@example.com }
  security:
    members:
      - { id: carol@example.com, email: carol@example.com }
rules:
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners], minApprovals: 2, timeout: 1h }
  - { name: grants, match: { action: iam.grant }, effect: require_approval, approvers: [owners], timeout: 30m }
  - { name: keys, match: { action: kms.rotate }, effect: require_approval, approvers: [owners], timeout: 2h, requireSignIn: true }
  - { name: sec, match: { action: sec.audit }, effect: require_approval, approvers: [security], timeout: 1h }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
auditors: [audit@example.com]
channels:
  email: { from: countersign@example.com }
auth:
  oidc: { issuer: https://login.example.com, clientId: countersign, clientSecret: env:OIDC_SECRET }
`);

const viewer = (principal: string, more: Partial<Viewer> = {}): Viewer => ({
  principal,
  via: 'oidc',
  auditor: principal === 'audit@example.com',
  approver: principal.endsWith('@example.com') && principal !== 'audit@example.com',
  csrf: `csrf-of-${principal}`,
  ...more,
});

function context(ports: MemoryPorts, who: Viewer): ConsoleContext {
  return {
    ports,
    viewer: who,
    exportSource: () => ({ page: async () => ({ items: [...ports.ledger.chains.values()].flat() }), latestCheckpoint: async () => undefined }),
  };
}

function event(method: 'GET' | 'POST', id?: string, form?: Record<string, string>, headers: Record<string, string> = {}): HttpEvent {
  return {
    routeKey: `${method} /console`,
    requestContext: { http: { method } },
    headers: form ? { 'content-type': 'application/x-www-form-urlencoded', ...headers } : headers,
    ...(id ? { pathParameters: { id } } : {}),
    ...(form ? { body: new URLSearchParams(form).toString(), isBase64Encoded: false } : {}),
  } as unknown as HttpEvent;
}

const ask = async (ports: MemoryPorts, request: ActionRequest) =>
  (await askForAction(ports, { requester: AGENT, request, callbackNetwork: 'public' })).state.id;

const html = (result: HttpResult) => String((result as { body?: string }).body);
const status = (result: HttpResult) => (result as { statusCode: number }).statusCode;
const refusal = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'no refusal';
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

/** The text of an HTML fragment, tags dropped. */
const words = (fragment: string) =>
  fragment
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();

describe('the inbox', () => {
  it('lists what waits for the viewer, soonest deadline first, with time left, quorum progress and the risk cue', async () => {
    const ports = memoryPorts(config, { start: '2026-03-01T12:00:00.000Z' });
    const exportId = await ask(ports, { action: 'data.export', resource: 's3://customers', environment: 'production' });
    ports.clock.advance(60_000);
    const grantId = await ask(ports, { action: 'iam.grant', resource: 'role/admin', environment: 'dev' });
    const page = html(await showInbox(event('GET'), context(ports, viewer('alice@example.com'))));

    const cards = page.split('data-testid="inbox-card"').slice(1);
    // The grant was asked later but expires first (30 minutes against an hour).
    expect(cards.map((c) => /data-request="([^"]+)"/.exec(c)?.[1])).toEqual([grantId, exportId]);
    expect(words(cards[0]!)).toContain(`${AGENT} asks to run iam.grant on role/admin in dev`);
    expect(words(cards[0]!)).toContain('30 minutes left to decide');
    expect(cards[0]).toContain('data-countdown="2026-03-01T12:31:00.000Z"');
    expect(cards[0]).not.toContain('data-testid="risk"');
    expect(words(cards[1]!)).toContain('0 of 2 approvals');
    expect(words(cards[1]!)).toContain('Caution: this runs in a production environment (production).');
    expect(cards[1]).toContain(`action="/console/requests/${exportId}/decision"`);
    expect(cards[1]).toContain('name="csrf" value="csrf-of-alice@example.com"');
    expect(cards[1]).toContain(`href="/console/requests/${exportId}"`);
    // Each card's reason field has its own label.
    expect(cards[0]).toContain('<label for="reason-1"');
    expect(cards[1]).toContain('<label for="reason-2"');
  });

  it('says in words when nothing waits: not for the requester, nor someone who is no approver', async () => {
    const ports = memoryPorts(config);
    await ask(ports, { action: 'data.export', environment: 'production' });
    for (const who of [AGENT, 'carol@example.com']) {
      const page = html(await showInbox(event('GET'), context(ports, viewer(who))));
      expect(page).toContain('Nothing waits for you');
      expect(page).toContain('data-testid="inbox-empty"');
      expect(page).not.toContain('data-testid="inbox-card"');
      expect(page).toContain('data-testid="past-empty"');
    }
  });

  it("puts the first card's summary, time left and Approve/Deny before anything else but the header", async () => {
    const ports = memoryPorts(config);
    await ask(ports, { action: 'data.export', environment: 'production', justification: 'x'.repeat(2000), parameters: { big: 'y'.repeat(3000) } });
    const page = html(await showInbox(event('GET'), context(ports, viewer('alice@example.com'))));
    const main = page.slice(page.indexOf('<main>'));
    const at = (needle: string) => main.indexOf(needle);
    const order = [
      'data-testid="inbox-title"',
      'data-testid="summary"',
      'data-testid="time-left"',
      'data-testid="approve"',
      'data-testid="deny"',
      'id="h-past"',
    ];
    expect(order.map(at).every((i) => i >= 0)).toBe(true);
    expect([...order.map(at)].sort((a, b) => a - b)).toEqual(order.map(at));
    // Nothing long (the justification, the parameters) sits between the summary and the buttons.
    const firstCard = main.slice(at('data-testid="summary"'), at('data-testid="deny"'));
    expect(firstCard).not.toContain('yyyy');
    expect(firstCard).not.toContain('xxxx');
    expect(firstCard.length).toBeLessThan(3000);
  });

  it('decides in place: the vote is recorded through the console, and the request moves to past decisions', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports, { action: 'iam.grant', resource: 'role/admin' });
    const alice = viewer('alice@example.com');
    const answer = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve', reason: '  fine <b>  ' }), context(ports, alice));
    expect(status(answer)).toBe(200);
    expect(words(html(answer))).toContain('Your decision (approve) is recorded. The request is approved.');
    const voted = (await ports.ledger.read(id)).find((r) => r.type === 'voted');
    expect(voted?.data).toEqual({ approver: 'alice@example.com', decision: 'approve', reason: 'fine <b>' });

    const inbox = html(await showInbox(event('GET'), context(ports, alice)));
    expect(inbox).not.toContain('data-testid="inbox-card"');
    const past = inbox.slice(inbox.indexOf('data-testid="past-decisions"'));
    expect(past).toContain(`data-request="${id}"`);
    expect(words(past)).toContain('You approved');
    expect(words(past)).toContain('now Approved');
    expect(past).toContain('fine &lt;b&gt;');
  });

  it('lists past decisions newest first, and says when the ledger was read only in part', async () => {
    const ports = memoryPorts(config);
    const first = await ask(ports, { action: 'iam.grant', resource: 'one' });
    const second = await ask(ports, { action: 'iam.grant', resource: 'two' });
    await castVote(ports, first, { approver: 'alice@example.com', via: 'console', signedIn: true }, { decision: 'deny' });
    ports.clock.advance(1000);
    await castVote(ports, second, { approver: 'alice@example.com', via: 'console', signedIn: true }, { decision: 'approve' });
    const chains = [...ports.ledger.chains.values()];
    const { deriveState } = await import('../../lambdas/core/approval');
    const history = chains.map((chain) => ({ state: deriveState(chain)!, chain, reminders: 0, escalated: false }));
    const page = renderInbox({
      viewer: viewer('alice@example.com'),
      directory: ports.policy.directory(),
      now: ports.clock.now(),
      waiting: [],
      history,
      complete: false,
    });
    const past = page.split('data-testid="past-decision"').slice(1);
    expect(past.map((p) => /data-request="([^"]+)"/.exec(p)?.[1])).toEqual([second, first]);
    expect(words(past[1]!)).toContain('You denied');
    expect(page).toContain('data-testid="past-partial"');
    expect(
      renderInbox({ viewer: viewer('alice@example.com'), directory: ports.policy.directory(), now: ports.clock.now(), waiting: [], history, complete: true }),
    ).not.toContain('past-partial');
  });
});

const HOSTILE = {
  resource: 'javascript:alert(1)//"><img src=x onerror=alert(1)>',
  environment: "prod' onmouseover='alert(1)",
  justification: 'Trust me \u200B<script>window.__pwned=1</script>',
  onBehalfOf: 'carol@example.com',
};

describe("a request's page", () => {
  it('escapes every agent-supplied value and marks hidden characters, in the inbox and on the page', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports, {
      action: 'data.export',
      resource: HOSTILE.resource,
      environment: HOSTILE.environment,
      justification: HOSTILE.justification,
      parameters: { note: '</pre><img src=x onerror=alert(3)>' },
      agent: { name: '<iframe src="javascript:alert(1)">', model: 'm\u202Eodel' },
    });
    const alice = context(ports, viewer('alice@example.com'));
    const inbox = html(await showInbox(event('GET'), alice));
    const page = html(await showRequest(event('GET', id), alice));
    for (const doc of [inbox, page]) {
      expect(doc).not.toContain('<img src=x');
      expect(doc).not.toContain("' onmouseover='");
      expect(doc).toContain(escapeHtml(HOSTILE.resource));
    }
    // Policy refuses hidden characters in the fields it compares; the agent's other fields keep them, shown.
    expect(page.slice(page.indexOf('data-testid="agent"'))).toContain('m<span class="hidden-char" title="invisible character U+202E">U+202E</span>odel');
    expect(page).toContain(escapeHtml('<img src=x onerror=alert(3)>'));
    expect(page).not.toContain('<script>window.__pwned');
    expect(page).not.toContain('<iframe');
    // The justification is the agent's words, marked unverified, with its zero-width space shown.
    const why = page.slice(page.indexOf('id="h-why"'), page.indexOf('id="h-who"'));
    expect(why).toContain('Supplied by the agent, not verified.');
    expect(why).toContain('title="invisible character U+200B"');
    // The production cue reads the environment's words, quote and all.
    expect(page).toContain('data-testid="risk"');
  });

  it('starts with the summary, status and time left; the decision form follows at once', async () => {
    const ports = memoryPorts(config, { start: '2026-03-01T12:00:00.000Z' });
    const id = await ask(ports, { action: 'data.export', resource: 's3://customers', environment: 'production', onBehalfOf: 'carol@example.com' });
    const page = html(await showRequest(event('GET', id), context(ports, viewer('alice@example.com'))));
    const main = page.slice(page.indexOf('<main>'));
    const order = ['data-testid="summary"', 'data-testid="status"', 'data-testid="time-left"', 'data-testid="approve"', 'id="h-what"', 'id="h-timeline"'];
    const at = order.map((n) => main.indexOf(n));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(words(main)).toContain(`${AGENT} asks to run data.export on s3://customers in production`);
    expect(words(main)).toContain('60 minutes left to decide');
    expect(main).toContain('data-testid="on-behalf-of">carol@example.com');
    // Quorum names who may still vote.
    expect(words(main.slice(main.indexOf('id="h-votes"')))).toMatch(/alice@example\.com \(you\): may still vote bob@example\.com: may still vote/);
    expect(words(main)).toContain('still needs 2 more approvals');
  });

  it('shows the timeline with each signature verified, and a clear failure for a tampered record', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports, { action: 'iam.grant', resource: 'role/admin' });
    await castVote(ports, id, { approver: 'bob@example.com', via: 'console', signedIn: true }, { decision: 'approve', reason: 'ok' });
    const auditor = context(ports, viewer('audit@example.com'));
    const page = html(await showRequest(event('GET', id), auditor));
    const records = page.split('data-testid="record"').slice(1);
    expect(records.map((r) => /data-type="([^"]+)"/.exec(r)?.[1])).toEqual(['requested', 'policy_decided', 'voted', 'approved']);
    expect(records.every((r) => r.includes('✓ signature verified'))).toBe(true);
    expect(words(page)).toContain("All 4 records are in one unbroken chain, each signature verified with the ledger's key.");
    expect(words(records[2]!)).toContain('bob@example.com voted approve');

    // Someone rewrites the vote's reason in the table: the page says so.
    const chain = ports.ledger.chains.get(id)!;
    chain[2] = { ...chain[2]!, data: { ...chain[2]!.data, reason: 'rewritten' } };
    const tampered = html(await showRequest(event('GET', id), auditor));
    const after = tampered.split('data-testid="record"').slice(1);
    expect(after[2]).toContain('✗ signature not verified: hash does not match the record content');
    expect(after[0]).toContain('✓ signature verified');
    expect(words(tampered)).toContain('1 of 4 records fail verification');
  });

  it('shows the receipt, decoded and verified, to the requester only', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports, { action: 'iam.grant', resource: 'role/admin', parameters: { who: 'x' } });
    await castVote(ports, id, { approver: 'alice@example.com', via: 'console', signedIn: true }, { decision: 'approve' });
    const stored = (await ports.requests.get(id))?.receipt;
    expect(stored).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const mine = html(await showRequest(event('GET', id), context(ports, viewer(AGENT))));
    expect(mine).toContain(`data-testid="receipt">${stored}</pre>`);
    expect(words(mine)).toContain("✓ signature verified with the ledger's key.");
    const claims = mine.slice(mine.indexOf('data-testid="receipt-claims"'));
    expect(words(claims)).toContain(`sub${id}`);
    expect(words(claims)).toContain('approversalice@example.com');
    expect(claims).toContain('paramsSalt');

    for (const who of ['alice@example.com', 'audit@example.com']) {
      const theirs = html(await showRequest(event('GET', id), context(ports, viewer(who))));
      expect(theirs).not.toContain(stored!.split('.')[1]!);
      expect(theirs).not.toContain('paramsSalt');
      expect(theirs).toContain('data-testid="receipt-note"');
    }
  });

  it('is not found for someone who may not read the request, as the API answers', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports, { action: 'iam.grant' });
    expect(await refusal(showRequest(event('GET', id), context(ports, viewer('carol@example.com'))))).toBe('not_found');
    expect(await refusal(showRequest(event('GET', 'act_nope'), context(ports, viewer('alice@example.com'))))).toBe('not_found');
  });

  it('says why the viewer cannot decide: their own request, an auditor, a vote already cast', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports, { action: 'data.export', onBehalfOf: 'bob@example.com' });
    const outcome = async (who: string) => {
      const page = html(await showRequest(event('GET', id), context(ports, viewer(who))));
      expect(page).not.toContain('data-testid="approve"');
      return words(page.slice(page.indexOf('data-testid="outcome"'), page.indexOf('id="h-what"')));
    };
    expect(await outcome(AGENT)).toContain('it was made by you');
    expect(await outcome('bob@example.com')).toContain('it was made on your behalf');
    expect(await outcome('audit@example.com')).toContain('you are not one of its approvers');
    await castVote(ports, id, { approver: 'alice@example.com', via: 'console', signedIn: true }, { decision: 'approve' });
    expect(await outcome('alice@example.com')).toMatch(/You approved this request on .*It is waiting for 1 more approval\./);
  });
});

describe('the decision form', () => {
  const setup = async (action = 'data.export') => {
    const ports = memoryPorts(config);
    const id = await ask(ports, { action, environment: 'production' });
    return { ports, id, records: async () => (await ports.ledger.read(id)).length };
  };

  it("is refused without the viewer's token, with another viewer's, or from another site, and records nothing", async () => {
    const { ports, id, records } = await setup();
    const before = await records();
    const alice = viewer('alice@example.com');
    const ctx = context(ports, alice);
    expect(await refusal(decideRequest(event('POST', id, { decision: 'approve' }), ctx))).toBe('forbidden');
    expect(await refusal(decideRequest(event('POST', id, { decision: 'approve', csrf: 'csrf-of-bob@example.com' }), ctx))).toBe('forbidden');
    expect(await refusal(decideRequest(event('POST', id, { decision: 'approve', csrf: alice.csrf }, { 'sec-fetch-site': 'cross-site' }), ctx))).toBe(
      'forbidden',
    );
    expect(await refusal(decideRequest(event('POST', id, { decision: 'approve', csrf: alice.csrf }, { 'sec-fetch-site': 'same-site' }), ctx))).toBe(
      'forbidden',
    );
    expect(await records()).toBe(before);
  });

  it('answers a bad form with 400 and records nothing', async () => {
    const { ports, id, records } = await setup();
    const before = await records();
    const alice = viewer('alice@example.com');
    const forms: Array<Record<string, string>> = [{ decision: 'maybe' }, {}, { decision: 'approve', reason: 'r'.repeat(1001) }];
    for (const form of forms) {
      const answer = await decideRequest(event('POST', id, { csrf: alice.csrf, ...form }), context(ports, alice));
      expect(status(answer)).toBe(400);
      expect(words(html(answer))).toContain('Choose Approve or Deny');
    }
    expect(await records()).toBe(before);
  });

  it("answers the API's refusals with their status, on the request's page, and records nothing", async () => {
    const { ports, id, records } = await setup();
    const cases: Array<[Viewer, Record<string, string>, number, string]> = [
      [viewer(AGENT), { decision: 'approve' }, 403, 'cannot approve this request'],
      [viewer('audit@example.com'), { decision: 'approve' }, 403, 'are not an approver of this request'],
    ];
    const before = await records();
    for (const [who, form, code, text] of cases) {
      const answer = await decideRequest(event('POST', id, { csrf: who.csrf, ...form }), context(ports, who));
      expect(status(answer)).toBe(code);
      expect(html(answer)).toContain('data-testid="notice"');
      expect(words(html(answer))).toContain(text);
      expect(words(html(answer))).toContain('Nothing was recorded.');
    }
    expect(await records()).toBe(before);
    // A changed vote is a conflict.
    const alice = viewer('alice@example.com');
    expect(status(await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve' }), context(ports, alice)))).toBe(200);
    const changed = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'deny' }), context(ports, alice));
    expect(status(changed)).toBe(409);
    expect(words(html(changed))).toContain('You already voted approve; a vote cannot be changed.');
    // The same vote again records nothing new, and says so (its new reason included).
    const recordsBefore = await records();
    const again = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve', reason: 'a second reason' }), context(ports, alice));
    expect(status(again)).toBe(200);
    expect(words(html(again))).toContain('You had already voted approve; nothing new was recorded');
    expect(await records()).toBe(recordsBefore);
    // Someone who may not read the request learns nothing: 404, as the API answers.
    const carol = viewer('carol@example.com');
    expect(await refusal(decideRequest(event('POST', id, { csrf: carol.csrf, decision: 'approve' }), context(ports, carol)))).toBe('not_found');
  });

  it('meets a rule that requires sign-in: the console session is one', async () => {
    const { ports, id } = await setup('kms.rotate');
    const alice = viewer('alice@example.com');
    const page = html(await showRequest(event('GET', id), context(ports, alice)));
    expect(words(page)).toContain('the rule keys marks it high-risk (sign-in required)');
    const answer = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve' }), context(ports, alice));
    expect(status(answer)).toBe(200);
    expect(words(html(answer))).toContain('The request is approved.');
  });
});
