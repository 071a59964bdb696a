/**
 * The console's approver pages through local mode's HTTP gateway, as a script reaches them (`Authorization: Bearer`
 * with a key of `local.apiKeys`): the inbox, deciding in place, the refusals (self-approval, a missing or wrong CSRF
 * token, a cross-site form, a request the viewer may not read), the timeline's verified signatures and the receipt.
 * The shared local mode holds other files' requests too: each test looks only at its own.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, sharedCountersign } from './harness';

const { url } = sharedCountersign();

interface Page {
  status: number;
  html: string;
}

async function get(path: string, key: string): Promise<Page> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` }, redirect: 'manual' });
  return { status: res.status, html: await res.text() };
}

async function post(path: string, key: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  });
  return { status: res.status, html: await res.text() };
}

/** The CSRF token the viewer's pages carry. */
async function csrfOf(key: string): Promise<string> {
  const token = /name="csrf" value="([^"]+)"/.exec((await get('/console', key)).html)?.[1];
  if (!token) throw new Error('no csrf token on the inbox');
  return token;
}

/** A request of this test's own (a resource nobody else uses). */
async function ask(action: string, environment = 'staging'): Promise<string> {
  const created = await api(url, 'POST', '/v1/actions', 'demo-agent-key', {
    action,
    resource: `s3://console-approver-${randomUUID()}`,
    environment,
    justification: 'Nightly report.',
  });
  expect(created.status).toBe(202);
  return created.body.id as string;
}

/** The request's votes and outcome records: what a decision would add (the `notified` record lands on its own time). */
const decisions = async (id: string) =>
  (await records(id)).filter((r) => !['requested', 'policy_decided', 'notified', 'reminded', 'escalated'].includes(r.type));
const records = async (id: string) => (await api(url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body as Array<{ type: string }>;
const card = (html: string, id: string) => html.includes(`data-testid="inbox-card" data-request="${id}"`);
const words = (html: string) =>
  html
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();

describe('the console for approvers, through the gateway', () => {
  it("lists a pending request in its approvers' inboxes, not in the requester's, nor another approver's", async () => {
    const id = await ask('data.export');
    const alice = await get('/console', 'alice-key');
    expect(alice.status).toBe(200);
    expect(card(alice.html, id)).toBe(true);
    expect(card((await get('/console', 'bob-key')).html, id)).toBe(true);
    expect(card((await get('/console', 'demo-agent-key')).html, id)).toBe(false);
    // dave is in platform, which data.export does not ask.
    expect(card((await get('/console', 'dave-key')).html, id)).toBe(false);
  });

  it('decides from the inbox: the form on the card records the vote, and the request settles', async () => {
    const id = await ask('infra.resize');
    const inbox = (await get('/console', 'dave-key')).html;
    const cardHtml = inbox.slice(inbox.indexOf(`data-request="${id}"`));
    const action = /<form method="post" action="([^"]+)"[^>]*data-testid="decision-form"/.exec(cardHtml)?.[1];
    const csrf = /name="csrf" value="([^"]+)"/.exec(cardHtml)?.[1];
    expect(action).toBe(`/console/requests/${id}/decision`);
    const answer = await post(action!, 'dave-key', { csrf: csrf!, decision: 'approve', reason: 'Scaling is fine.' });
    expect(answer.status).toBe(200);
    expect(words(answer.html)).toContain('Your decision (approve) is recorded. The request is approved.');
    const view = await api(url, 'GET', `/v1/actions/${id}`, 'demo-agent-key');
    expect(view.body).toMatchObject({ status: 'approved', votes: [{ approver: 'dave@example.com', decision: 'approve', reason: 'Scaling is fine.' }] });
    // Gone from the inbox, listed under past decisions.
    const after = (await get('/console', 'dave-key')).html;
    expect(card(after, id)).toBe(false);
    expect(after.slice(after.indexOf('data-testid="past-decisions"'))).toContain(`data-request="${id}"`);
  });

  it('refuses self-approval with 403 and records nothing', async () => {
    const id = await ask('data.export');
    const answer = await post(`/console/requests/${id}/decision`, 'demo-agent-key', { csrf: await csrfOf('demo-agent-key'), decision: 'approve' });
    expect(answer.status).toBe(403);
    expect(words(answer.html)).toContain('cannot approve this request. Nothing was recorded.');
    expect(await decisions(id)).toEqual([]);
  });

  it("refuses a form without the viewer's CSRF token, or from another site, with 403, and records nothing", async () => {
    const id = await ask('data.export');
    const path = `/console/requests/${id}/decision`;
    const missing = await post(path, 'alice-key', { decision: 'approve' });
    const wrong = await post(path, 'alice-key', { decision: 'approve', csrf: await csrfOf('bob-key') });
    const crossSite = await post(path, 'alice-key', { decision: 'approve', csrf: await csrfOf('alice-key') }, { 'sec-fetch-site': 'cross-site' });
    for (const answer of [missing, wrong, crossSite]) {
      expect(answer.status).toBe(403);
      expect(answer.html).toContain('data-testid="error"');
    }
    expect(words(crossSite.html)).toContain('the form was sent from another site');
    expect(await decisions(id)).toEqual([]);
    expect(card((await get('/console', 'alice-key')).html, id)).toBe(true);
  });

  it('answers 404 for a request the viewer may not read, as the API does', async () => {
    const id = await ask('data.export');
    const dave = await get(`/console/requests/${id}`, 'dave-key');
    expect(dave.status).toBe(404);
    expect(dave.html).not.toContain('data.export');
    expect((await get('/console/requests/act_doesNotExist000000000', 'alice-key')).status).toBe(404);
    expect((await post(`/console/requests/${id}/decision`, 'dave-key', { csrf: await csrfOf('dave-key'), decision: 'approve' })).status).toBe(404);
    expect((await get(`/console/requests/${id}`, 'alice-key')).status).toBe(200);
  });

  it('shows the timeline with every signature verified, and the requester the receipt the API gives it', async () => {
    const id = await ask('data.export', 'production');
    for (const key of ['alice-key', 'bob-key']) {
      const answer = await post(`/console/requests/${id}/decision`, key, { csrf: await csrfOf(key), decision: 'approve' });
      expect(answer.status).toBe(200);
    }
    const chain = await records(id);
    const page = await get(`/console/requests/${id}`, 'alice-key');
    expect(page.status).toBe(200);
    const timeline = page.html.split('data-testid="record"').slice(1);
    expect(timeline.map((r) => /data-type="([^"]+)"/.exec(r)?.[1])).toEqual(chain.map((r) => r.type));
    expect(timeline.every((r) => r.includes('✓ signature verified'))).toBe(true);
    expect(words(page.html)).toContain(`All ${chain.length} records are in one unbroken chain`);
    // An approver is told the receipt is the requester's; the requester sees it.
    expect(page.html).toContain('data-testid="receipt-note"');
    const receipt = (await api(url, 'GET', `/v1/actions/${id}`, 'demo-agent-key')).body.receipt as string;
    expect(receipt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(page.html).not.toContain(receipt.split('.')[1]);
    const mine = await get(`/console/requests/${id}`, 'demo-agent-key');
    expect(mine.html).toContain(`data-testid="receipt">${receipt}</pre>`);
    expect(words(mine.html)).toContain("✓ signature verified with the ledger's key");
  });
});
