/**
 * The approval flow end to end over HTTP, against local mode as `npm start` runs it: intake and its errors, policy,
 * notification, review links, decisions and their races, cancel, expiry, the signed ledger and the receipt.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatUtc } from '../../lambdas/core/dates';
import { type AuditRecord, verifyChain } from '../../lambdas/core/ledger-record';
import { parametersHash, verifyReceipt } from '../../lambdas/core/receipt';
import { PAGE_SCRIPT } from '../../lambdas/decision/review-page';
import { api, eventually, type RunningCountersign, startCountersign, verifiedChain } from './harness';

const AGENT = 'agent-key-1';
const config = {
  version: 1,
  groups: {
    owners: {
      members: [
        { id: 'alice@example.com', email: 'alice@example.com' },
        { id: 'bob@example.com', email: 'bob@example.com' },
        { id: 'carol@example.com', email: 'carol@example.com' },
      ],
    },
    security: {
      members: [
        { id: 'bob@example.com', email: 'bob@example.com' },
        { id: 'dave@example.com', email: 'dave@example.com' },
      ],
    },
  },
  rules: [
    { name: 'reads', match: { action: '*.read' }, effect: 'allow' },
    { name: 'drops', match: { action: 'db.drop*' }, effect: 'deny', reason: 'Never automated.' },
    { name: 'quick', match: { action: 'test.quick' }, effect: 'require_approval', approvers: ['owners'], timeout: '3s' },
    {
      name: 'nudged',
      match: { action: 'test.nudge' },
      effect: 'require_approval',
      approvers: ['owners'],
      minApprovals: 2,
      remindAfter: '2s',
      escalateAfter: '3s',
      escalateTo: ['security'],
      timeout: '30s',
    },
    {
      name: 'two-teams',
      match: { action: 'iam.grant', parameters: { role: { glob: 'admin*' } } },
      effect: 'require_approval',
      require: [
        { group: 'owners', min: 1 },
        { group: 'security', min: 1 },
      ],
    },
    { name: 'pair', match: { action: 'data.export' }, effect: 'require_approval', approvers: ['owners'], minApprovals: 2, timeout: '1h' },
  ],
  default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
  auditors: ['audit@example.com'],
  mask: ['parameters.customer.ssn'],
  channels: { email: { from: 'countersign@example.com' } },
  local: {
    apiKeys: {
      [AGENT]: 'arn:aws:iam::000000000000:role/agent',
      'other-agent': 'arn:aws:iam::000000000000:role/other',
      'alice-key': 'alice@example.com',
      'bob-key': 'bob@example.com',
      'carol-key': 'carol@example.com',
      'audit-key': 'audit@example.com',
      'mallory-key': 'mallory@example.com',
      'dave-key': 'dave@example.com',
    },
  },
};

interface InboxMessage {
  actionId: string;
  to: string;
  subject: string;
  text: string;
  reviewUrl?: string;
}

describe('approval flow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-flow-'));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'countersign.yaml');
  let cs: RunningCountersign;
  let publicKeyPem: string;

  beforeAll(async () => {
    writeFileSync(configFile, stringify(config));
    cs = await startCountersign({ dataDir, configFile });
    const res = await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer audit-key' } });
    publicKeyPem = await res.text();
  });
  afterAll(async () => {
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (body: unknown, key = AGENT, headers: Record<string, string> = {}) =>
    fetch(`${cs.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const get = (id: string, key = AGENT, query = '') => api(cs.url, 'GET', `/v1/actions/${id}${query}`, key);
  const decide = (id: string, key: string, decision: string, reason?: string) =>
    api(cs.url, 'POST', `/v1/actions/${id}/decision`, key, { decision, ...(reason ? { reason } : {}) });
  const audit = async (id: string): Promise<AuditRecord[]> => (await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body;
  const inboxFor = (id: string, count: number) =>
    eventually(async () => {
      const mine = ((await api(cs.url, 'GET', '/_local/inbox.json')).body as InboxMessage[]).filter((m) => m.actionId === id);
      return mine.length >= count ? mine : undefined;
    });

  it('refuses bad input with the codes of docs/api.md, changing nothing', async () => {
    const bad = await ask({ action: 'Not Valid!', parameters: 'x', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['action', 'extra', 'parameters']);
    expect((await ask({})).body.error.details).toEqual([{ path: 'action', message: expect.any(String) }]);
    const notJson = await fetch(`${cs.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AGENT}`, 'content-type': 'application/json' },
      body: '{"action":',
    });
    expect([notJson.status, ((await notJson.json()) as any).error.code]).toEqual([400, 'invalid_request']);
    const text = await fetch(`${cs.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AGENT}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(text.status).toBe(415);
    const huge = await ask({ action: 'data.export', justification: 'x'.repeat(257 * 1024) });
    expect([huge.status, huge.body.error.code]).toEqual([413, 'payload_too_large']);
    expect((await ask({ action: 'data.export' }, 'no-such-key')).status).toBe(401);
    expect((await get('act_doesnotexist')).status).toBe(404);
    expect((await api(cs.url, 'GET', '/v1/actions/act_x?wait=21', AGENT)).body.error.code).toBe('invalid_request');
  });

  it('answers allow and deny at once, with a receipt for the allowed action', async () => {
    const allowed = await ask({ action: 'users.read', parameters: { id: 7 } });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ status: 'approved', rule: 'reads', decidedBy: 'policy' });
    const claims = verifyReceipt(allowed.body.receipt, publicKeyPem, { parameters: { id: 7 } });
    expect(claims).toMatchObject({ sub: allowed.body.id, action: 'users.read', rule: 'reads' });
    const denied = await ask({ action: 'db.drop_all' });
    expect(denied.body).toMatchObject({ status: 'denied', rule: 'drops', decidedBy: 'policy', reason: 'Never automated.' });
    expect(denied.body.receipt).toBeUndefined();
  });

  it('keeps Idempotency-Key retries to one request, and refuses the key with another body', async () => {
    const body = { action: 'data.export', resource: 'db:1' };
    const first = await ask(body, AGENT, { 'Idempotency-Key': 'k-1' });
    const again = await ask(body, AGENT, { 'Idempotency-Key': 'k-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect((await ask({ ...body, resource: 'db:2' }, AGENT, { 'Idempotency-Key': 'k-1' })).body.error.code).toBe('idempotency_conflict');
    // Another caller's same key is another request.
    expect((await ask(body, 'other-agent', { 'Idempotency-Key': 'k-1' })).body.id).not.toBe(first.body.id);
    expect((await audit(first.body.id)).filter((r) => r.type === 'requested')).toHaveLength(1);
  });

  it('notifies each approver but the requester and onBehalfOf, with the context and a personal link', async () => {
    const created = await ask({
      action: 'data.export',
      resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
      environment: 'production',
      parameters: { table: 'customers', format: 'csv' },
      justification: 'Quarterly churn analysis',
      onBehalfOf: 'carol@example.com',
      agent: { name: 'analyst-bot', model: 'some-llm', runId: 'r-42' },
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'pending', rule: 'pair', requiredApprovals: 2, onBehalfOf: 'carol@example.com' });
    const mail = await inboxFor(created.body.id, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect((await inboxFor(created.body.id, 2)).map((m) => m.to).sort()).toEqual(['alice@example.com', 'bob@example.com']);
    const text = mail[0]!.text;
    for (const expected of [
      'arn:aws:iam::000000000000:role/agent',
      'carol@example.com',
      'analyst-bot',
      'production',
      '"table": "customers"',
      'supplied by the agent',
      'Quarterly churn analysis',
      'pair',
      '2 needed',
      // The expiry as people read it, with the time left when the email was sent.
      `Expires       ${formatUtc(created.body.expiresAt)} (`,
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).not.toContain(created.body.expiresAt);
    expect(mail[0]!.reviewUrl).toMatch(new RegExp(`^${cs.url}/v1/review/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    expect(mail[0]!.reviewUrl).not.toBe(mail[1]!.reviewUrl);
    expect((await audit(created.body.id)).map((r) => r.type)).toEqual(['requested', 'policy_decided', 'notified']);
  });

  it('applies every decision rule over the JSON API and settles with a verifiable receipt and ledger', async () => {
    const { body } = await ask({ action: 'data.export', parameters: { rows: 10 }, onBehalfOf: 'carol@example.com' });
    const id = body.id as string;
    // Someone who may not see the request gets exactly what a missing request gets: no existence oracle.
    const stranger = await decide(id, 'mallory-key', 'approve');
    const missing = await decide('act_doesnotexist000000000', 'mallory-key', 'approve');
    expect([stranger.status, stranger.body]).toEqual([404, { error: { code: 'not_found', message: 'no such request', details: [] } }]);
    expect([missing.status, missing.body]).toEqual([stranger.status, stranger.body]);
    expect((await decide(id, 'carol-key', 'approve')).body.error.code).toBe('self_approval');
    expect((await decide(id, 'alice-key', 'maybe')).status).toBe(400);
    expect((await decide(id, 'alice-key', 'approve', 'ok by me')).body).toMatchObject({
      status: 'pending',
      votes: [{ approver: 'alice@example.com', decision: 'approve', reason: 'ok by me' }],
    });
    expect((await decide(id, 'alice-key', 'approve')).status).toBe(200);
    expect((await decide(id, 'alice-key', 'deny')).body.error.code).toBe('already_decided');
    const approved = await decide(id, 'bob-key', 'approve');
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: 'approvers' });
    // The receipt carries the requester's parameters salt: only the requester reads it.
    expect(approved.body.receipt).toBeUndefined();
    const receipt = (await get(id)).body.receipt as string;
    const claims = verifyReceipt(receipt, publicKeyPem, { parameters: { rows: 10 } });
    expect(claims.approvers.sort()).toEqual(['alice@example.com', 'bob@example.com']);
    expect(() => verifyReceipt(receipt, publicKeyPem, { parameters: { rows: 11 } })).toThrow();
    expect((await decide(id, 'bob-key', 'deny')).body.error.code).toBe('already_decided');
    const records = await audit(id);
    expect(records.map((r) => r.type)).toEqual(expect.arrayContaining(['requested', 'policy_decided', 'voted', 'voted', 'approved']));
    expect(await verifiedChain(cs.url, id, 'audit-key', publicKeyPem)).toMatchObject({ ok: true });
    // The records are signed by the environments' certified keys: without the certificates they do not verify.
    expect(verifyChain(records, createPublicKey(publicKeyPem)).ok).toBe(false);
    // Reads: requester, approvers and auditors; others get 404.
    for (const reader of ['bob-key', 'audit-key']) {
      const view = (await get(id, reader)).body;
      expect(view.status).toBe('approved');
      expect(view.receipt).toBeUndefined();
    }
    // The ledger, which approvers and auditors read, holds only salted commitments: no plain hash to guess against.
    const requested = records[0]!.data as Record<string, unknown>;
    expect(Object.keys(requested)).toEqual(expect.arrayContaining(['bodyCommitment', 'parametersCommitment']));
    expect(requested.parametersSha256).toBeUndefined();
    expect(requested.bodySha256).toBeUndefined();
    expect(requested.parametersCommitment).toBe(claims.paramsHmac);
    expect(JSON.stringify(records)).not.toContain(parametersHash({ rows: 10 }));
    expect((await get(id, 'other-agent')).status).toBe(404);
  });

  it('needs each team of a cross-team quorum, counting a member of both teams once, and says what is missing', async () => {
    const { body } = await ask({ action: 'iam.grant', parameters: { role: 'admin-prod' } });
    expect(body).toMatchObject({ rule: 'two-teams', requiredApprovals: 2, missing: ['1 more from owners', '1 more from security'] });
    const afterBob = (await decide(body.id, 'bob-key', 'approve')).body;
    expect(afterBob.status).toBe('pending');
    expect(afterBob.missing).toHaveLength(1);
    const afterDave = (await decide(body.id, 'dave-key', 'approve')).body;
    expect(afterDave).toMatchObject({ status: 'approved' });
    const policy = (await audit(body.id)).find((r) => r.type === 'policy_decided')!;
    expect(policy.data).toMatchObject({ rule: 'two-teams', policyVersion: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await ask({ action: 'iam.grant', parameters: { role: 'reader' } })).body.rule).toBe('default');
  });

  it('masks secrets and configured paths in every message, page and ledger record, while the receipt binds the real payload', async () => {
    const parameters = {
      customer: { ssn: '123-45-6789', name: 'Ada' },
      conn: 'postgres://app:hunter2secret@db.internal/prod',
      key: 'AKIAIOSFODNN7EXAMPLE',
      note: 'card 4111 1111 1111 1111 on file',
    };
    const secrets = ['123-45-6789', 'hunter2secret', 'AKIAIOSFODNN7EXAMPLE', '4111 1111 1111 1111'];
    const { body } = await ask({ action: 'misc.thing', parameters, justification: 'token Bearer abcdef123456789' });
    const [mail] = await inboxFor(body.id, 3);
    const page = await (await fetch(mail!.reviewUrl!)).text();
    const approved = await decide(body.id, 'alice-key', 'approve');
    const records = JSON.stringify(await audit(body.id));
    for (const secret of [...secrets, 'abcdef123456789']) {
      expect(mail!.text, secret).not.toContain(secret);
      expect(page, secret).not.toContain(secret);
      expect(records, secret).not.toContain(secret);
    }
    expect(mail!.text).toContain('Ada');
    expect(records).toContain('"path":"parameters.customer.ssn","reason":"path"');
    expect(approved.body.status).toBe('approved');
    expect(verifyReceipt((await get(body.id)).body.receipt, publicKeyPem, { parameters }).sub).toBe(body.id);
  });

  it('reminds approvers who have not voted and escalates to another team, in the workflow, ledgered', async () => {
    const { body } = await ask({ action: 'test.nudge' });
    await inboxFor(body.id, 3);
    await decide(body.id, 'alice-key', 'approve');
    // Not an approver until the escalation: dave may not see the request yet.
    expect((await decide(body.id, 'dave-key', 'approve')).body.error.code).toBe('not_found');
    const mail = await eventually(
      async () => {
        const mine = ((await api(cs.url, 'GET', '/_local/inbox.json')).body as InboxMessage[]).filter((m) => m.actionId === body.id);
        return mine.some((m) => m.subject.startsWith('Reminder: ')) && mine.some((m) => m.subject.startsWith('Escalated to you: ')) ? mine : undefined;
      },
      15_000,
      200,
    );
    const reminded = mail.filter((m) => m.subject.startsWith('Reminder: ')).map((m) => m.to);
    expect(reminded).not.toContain('alice@example.com');
    expect(reminded).toEqual(expect.arrayContaining(['bob@example.com', 'carol@example.com']));
    expect(mail.filter((m) => m.subject.startsWith('Escalated to you: ')).map((m) => m.to)).toEqual(['dave@example.com']);
    const records = await audit(body.id);
    expect(records.find((r) => r.type === 'escalated')!.data).toEqual({ approvers: ['dave@example.com'] });
    expect(records.find((r) => r.type === 'reminded')!.data.approvers).not.toContain('alice@example.com');
    expect((await decide(body.id, 'dave-key', 'approve')).body).toMatchObject({ status: 'approved' });
    expect((await verifiedChain(cs.url, body.id, 'audit-key', publicKeyPem)).ok).toBe(true);
  });

  it('settles 12 concurrent votes from 3 approvers on a 2-approval rule exactly once', async () => {
    const { body } = await ask({ action: 'data.export' });
    const keys = ['alice-key', 'bob-key', 'carol-key'];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => decide(body.id, keys[i % 3]!, 'approve')));
    expect(results.every((r) => r.status === 200 || r.body.error?.code === 'already_decided')).toBe(true);
    const records = await audit(body.id);
    expect(records.filter((r) => r.type === 'approved')).toHaveLength(1);
    expect(records.filter((r) => r.type === 'voted').length).toBeLessThanOrEqual(3);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect((await get(body.id)).body.status).toBe('approved');
  });

  it('shows the review page on GET without changing anything, and decides on POST; one deny settles', async () => {
    const { body } = await ask({
      action: 'data.export',
      justification: '<script>alert(1)</script><b>bold</b>',
      parameters: { q: '"><img src=x onerror=alert(1)>' },
    });
    const [mail] = await inboxFor(body.id, 3);
    const before = (await audit(body.id)).length;
    for (let i = 0; i < 5; i++) {
      const page = await fetch(mail!.reviewUrl!);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html.replace(`<script>${PAGE_SCRIPT}</script>`, '')).not.toContain('<script');
      expect(html).not.toContain('<img src=x');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      // Every approver named, with where each stands.
      for (const approver of ['alice@example.com', 'bob@example.com', 'carol@example.com']) {
        expect(html).toMatch(new RegExp(`<li><bdi>${approver}</bdi>(?: \\(you\\))?: <span class="standing">may still vote</span></li>`));
      }
    }
    expect(await audit(body.id)).toHaveLength(before);
    const posted = await fetch(mail!.reviewUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'decision=deny&reason=not+today',
    });
    expect(posted.status).toBe(200);
    const answer = await posted.text();
    expect(answer).toContain('recorded');
    // The page says what happened, and who did it; no time left is counted any more.
    expect(answer).toContain(`<strong>Denied</strong> by <bdi>${mail!.to}</bdi> on <time`);
    expect(answer).not.toContain('data-countdown="');
    expect((await get(body.id)).body).toMatchObject({ status: 'denied', decidedBy: 'approvers', reason: 'not today' });
    const tampered = mail!.reviewUrl!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await fetch(tampered)).status).toBe(404);
  });

  it('lets the requester cancel, answers ?wait at once when settled and long-polls while pending', async () => {
    const { body } = await ask({ action: 'data.export' });
    const started = Date.now();
    const polled = get(body.id, AGENT, '?wait=10');
    await new Promise((r) => setTimeout(r, 500));
    expect((await api(cs.url, 'POST', `/v1/actions/${body.id}/cancel`, 'alice-key')).body.error.code).toBe('forbidden');
    expect((await api(cs.url, 'POST', `/v1/actions/${body.id}/cancel`, AGENT)).body).toMatchObject({ status: 'cancelled', decidedBy: 'requester' });
    expect((await polled).body.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(8000);
    expect((await decide(body.id, 'alice-key', 'approve')).body.error.code).toBe('already_decided');
  });

  it('expires a short-timeout request and ledgers it', async () => {
    const { body } = await ask({ action: 'test.quick' });
    const settled = await eventually(
      async () => {
        const { body: now } = await get(body.id);
        return now.status === 'pending' ? undefined : now;
      },
      15_000,
      250,
    );
    expect(settled).toMatchObject({ status: 'expired', decidedBy: 'timeout' });
    expect((await audit(body.id)).at(-1)).toMatchObject({ type: 'expired', data: { decidedBy: 'timeout' } });
    expect((await decide(body.id, 'alice-key', 'approve')).body.error.code).toBe('already_decided');
  });

  it('finishes an approval begun before a restart', async () => {
    const { body } = await ask({ action: 'data.export' });
    await inboxFor(body.id, 3);
    await decide(body.id, 'alice-key', 'approve');
    expect(await cs.stop()).toBe(0);
    cs = await startCountersign({ dataDir, configFile });
    expect((await decide(body.id, 'bob-key', 'approve')).body.status).toBe('approved');
    expect((await verifiedChain(cs.url, body.id, 'audit-key', publicKeyPem)).ok).toBe(true);
  }, 60_000);
});
