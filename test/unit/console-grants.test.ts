/**
 * Grants in the console, with every port in memory: the decide forms (inbox card and request page) offer "this call
 * only" or approving for a while where the rule allows it, `POST /console/requests/{id}/decision` passes `for`, the
 * request page says what grant an approval made or approved a request, and an approver of the rule or an auditor
 * revokes an active grant there, with a reason (`POST /console/grants/{id}/revoke`).
 */
import { describe, expect, it } from 'vitest';
import type { HttpEvent, HttpResult } from '../../lambdas/adapters/http';
import { askForAction } from '../../lambdas/app/ask';
import type { ConsoleContext } from '../../lambdas/console/context';
import { showGrants } from '../../lambdas/console/grants';
import { showInbox } from '../../lambdas/console/inbox';
import { decideRequest, revokeGrantFromConsole, showRequest } from '../../lambdas/console/request-page';
import type { Viewer } from '../../lambdas/console/viewer';
import { deriveState, statusOf } from '../../lambdas/core/approval';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { type MemoryPorts, memoryPorts } from '../fixtures/memory-ports';

const AGENT = 'arn:aws:iam::111122223333:role/agent';
const config = parseConfig(`
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, email: alice@example.com }
      - { id: bob@example.com, email: bob@example.com }
rules:
  - name: migrations
    match: { action: db.migrate }
    effect: require_approval
    approvers: [owners]
    timeout: 1h
    grant: { maxFor: 8h, scope: [action, resource, requester] }
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners], timeout: 1h }
default: { effect: deny }
auditors: [audit@example.com]
channels:
  email: { from: countersign@example.com }
`);

const viewer = (principal: string): Viewer => ({
  principal,
  via: 'oidc',
  auditor: principal === 'audit@example.com',
  approver: principal !== 'audit@example.com' && principal.endsWith('@example.com'),
  csrf: `csrf-of-${principal}`,
});
const alice = viewer('alice@example.com');

const context = (ports: MemoryPorts, who: Viewer): ConsoleContext => ({
  ports,
  viewer: who,
  exportSource: () => ({ page: async () => ({ items: [...ports.ledger.chains.values()].flat() }), latestCheckpoint: async () => undefined }),
});

function event(method: 'GET' | 'POST', id?: string, form?: Record<string, string>, query?: Record<string, string>): HttpEvent {
  return {
    routeKey: `${method} /console`,
    requestContext: { http: { method } },
    ...(query ? { queryStringParameters: query } : {}),
    headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
    ...(id ? { pathParameters: { id } } : {}),
    ...(form ? { body: new URLSearchParams(form).toString(), isBase64Encoded: false } : {}),
  } as unknown as HttpEvent;
}

const ask = async (ports: MemoryPorts, resource = 'orders', action = 'db.migrate') =>
  (await askForAction(ports, { requester: AGENT, request: { action, resource }, callbackNetwork: 'public' })).state.id;
const stateOf = async (ports: MemoryPorts, id: string) => deriveState(await ports.ledger.read(id))!;
const html = (result: HttpResult) => String((result as { body?: string }).body);
const status = (result: HttpResult) => (result as { statusCode: number }).statusCode;
const words = (fragment: string) =>
  fragment
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
const options = (page: string) => [...page.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);

describe('the console decide forms', () => {
  it('offer this call only, preselected, or a while up to maxFor, only where the rule grants', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports);
    const other = await ask(ports, 'x', 'data.export');
    const page = html(await showRequest(event('GET', id), context(ports, alice)));
    expect(options(page)).toEqual(['', '1h', '8h']);
    expect(page).toContain('<option value="" selected>this call only</option>');
    expect(words(page)).toContain(`also approves later requests by ${AGENT} to run db.migrate on orders that rule migrations decides`);
    expect(html(await showRequest(event('GET', other), context(ports, alice)))).not.toContain('name="for"');
    // The inbox card of each request: its own ids, so the forms of one page stay apart.
    const inbox = html(await showInbox(event('GET'), context(ports, alice)));
    expect(inbox.match(/name="for"/g)).toHaveLength(1);
    expect(inbox).toMatch(/<label for="for-\d">Approve for<\/label>\s*<select id="for-\d" name="for"/);
  });

  it('pass for with Approve: the vote asks for a grant, and the page says until when', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports);
    const answer = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve', for: '1h' }), context(ports, alice));
    expect(status(answer)).toBe(200);
    expect(words(html(answer))).toContain('Your decision (approve for 1h) is recorded. The request is approved.');
    const state = await stateOf(ports, id);
    expect(state.votes[0]).toMatchObject({ decision: 'approve', forSeconds: 3600 });
    expect(state.grant).toMatchObject({ rule: 'migrations', approvers: ['alice@example.com'] });
    expect(html(answer)).toContain('data-testid="grant-made"');
    expect(words(html(answer))).toContain('Approved for 1 hour by alice@example.com (you)');
    expect(words(html(answer))).toContain(`grant ${state.grant!.id} approves later requests by ${AGENT} to run db.migrate on orders`);
  });

  it('ignore the choice with Deny, and answer a length over maxFor with the refusal, recording nothing', async () => {
    const ports = memoryPorts(config);
    const id = await ask(ports);
    const tooLong = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve', for: '1d' }), context(ports, alice));
    expect(status(tooLong)).toBe(400);
    expect(words(html(tooLong))).toContain('Rule migrations grants for at least 1 minute and at most 8 hours. Nothing was recorded.');
    expect((await stateOf(ports, id)).votes).toEqual([]);
    const bad = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve', for: 'soon' }), context(ports, alice));
    expect(status(bad)).toBe(400);
    const denied = await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'deny', for: '1h' }), context(ports, alice));
    expect(status(denied)).toBe(200);
    const state = await stateOf(ports, id);
    expect(statusOf(state)).toBe('denied');
    expect(state.votes[0]?.forSeconds).toBeUndefined();
  });
});

describe('a grant on the request page', () => {
  const granted = async () => {
    const ports = memoryPorts(config);
    const first = await ask(ports);
    await decideRequest(event('POST', first, { csrf: alice.csrf, decision: 'approve', for: '8h' }), context(ports, alice));
    const grantId = (await stateOf(ports, first)).grant!.id;
    return { ports, first, grantId };
  };

  it('says a request was approved at once by a grant, and whose approval made it', async () => {
    const { ports, first, grantId } = await granted();
    const second = await ask(ports);
    const page = html(await showRequest(event('GET', second), context(ports, alice)));
    expect(words(page)).toContain(`Approved by a grant (${grantId}, made when alice@example.com approved request ${first} for a while, holding until`);
    expect(words(page)).toContain(`approved at once by grant ${grantId} (request ${first})`);
  });

  it('offers revoking to an approver of the rule and to an auditor, not to the requester', async () => {
    const { ports, first } = await granted();
    for (const who of [alice, viewer('bob@example.com'), viewer('audit@example.com')]) {
      expect(html(await showRequest(event('GET', first), context(ports, who))), who.principal).toContain('data-testid="revoke-form"');
    }
    expect(html(await showRequest(event('GET', first), context(ports, viewer(AGENT))))).not.toContain('data-testid="revoke-form"');
  });

  it('revokes with a reason and the CSRF token; later matching requests are asked again', async () => {
    const { ports, first, grantId } = await granted();
    const bob = viewer('bob@example.com');
    await expect(revokeGrantFromConsole(event('POST', grantId, { reason: 'done' }), context(ports, bob))).rejects.toMatchObject({ code: 'forbidden' });
    const noReason = await revokeGrantFromConsole(event('POST', grantId, { csrf: bob.csrf, reason: '  ' }), context(ports, bob));
    expect(status(noReason)).toBe(400);
    expect(words(html(noReason))).toContain('Say why the grant is revoked');
    expect((await stateOf(ports, first)).grantRevoked).toBeUndefined();

    const revoked = await revokeGrantFromConsole(event('POST', grantId, { csrf: bob.csrf, reason: 'migration done' }), context(ports, bob));
    expect(status(revoked)).toBe(200);
    expect(words(html(revoked))).toContain('The grant is revoked: later matching requests are asked again.');
    expect(words(html(revoked))).toContain('by bob@example.com: migration done');
    expect(html(revoked)).not.toContain('data-testid="revoke-form"');
    expect((await stateOf(ports, first)).grantRevoked).toMatchObject({ by: 'bob@example.com', reason: 'migration done' });
    expect(statusOf(await stateOf(ports, await ask(ports)))).toBe('pending');

    const again = await revokeGrantFromConsole(event('POST', grantId, { csrf: alice.csrf, reason: 'again' }), context(ports, alice));
    expect(status(again)).toBe(409);
    expect(words(html(again))).toContain('Nothing was recorded.');
  });

  it('is not found for a grant id the viewer may not see or that names nothing', async () => {
    const { ports, grantId } = await granted();
    const stranger = viewer('mallory@example.org');
    await expect(revokeGrantFromConsole(event('POST', grantId, { csrf: stranger.csrf, reason: 'r' }), context(ports, stranger))).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(revokeGrantFromConsole(event('POST', 'act_x', { csrf: alice.csrf, reason: 'r' }), context(ports, alice))).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});

describe('the grants page', () => {
  it('lists the grants the viewer may see, linking each to its request; ?status=all adds revoked ones', async () => {
    const ports = memoryPorts(config);
    const first = await askForAction(ports, {
      requester: AGENT,
      request: { action: 'db.migrate', resource: 'orders<b>' },
      callbackNetwork: 'public',
    });
    const id = first.state.id;
    await decideRequest(event('POST', id, { csrf: alice.csrf, decision: 'approve', for: '8h' }), context(ports, alice));
    const grantId = (await stateOf(ports, id)).grant!.id;

    const page = html(await showGrants(event('GET'), context(ports, alice)));
    expect(page).toContain('aria-current="page" data-testid="nav-grants"');
    const rows = page.split('data-testid="grant"').slice(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(`href="/console/requests/${id}"><code>${grantId}</code></a>`);
    expect(rows[0]).toContain('resource <bdi>orders&lt;b&gt;</bdi>');
    expect(rows[0]).toContain('<bdi>alice@example.com</bdi>');
    // Someone who may not read the granting request does not see the grant.
    expect(html(await showGrants(event('GET'), context(ports, viewer('mallory@example.org'))))).toContain('data-testid="grants-empty"');

    await revokeGrantFromConsole(event('POST', grantId, { csrf: alice.csrf, reason: 'done' }), context(ports, alice));
    expect(html(await showGrants(event('GET'), context(ports, alice)))).toContain('No active grants that you may see.');
    const all = html(await showGrants(event('GET', undefined, undefined, { status: 'all' }), context(ports, alice)));
    expect(words(all)).toContain('revoked by alice@example.com: done');
    await expect(showGrants(event('GET', undefined, undefined, { status: 'some' }), context(ports, alice))).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
