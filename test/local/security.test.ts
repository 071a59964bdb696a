/**
 * Security properties end to end against local mode as `npm start` runs it, with email, Slack and Teams configured:
 * agent-supplied markup in every field at once reaches the review page, the email (text and HTML), the inbox page,
 * the Slack blocks and the Teams card only escaped; review tokens cannot be replayed, spliced, tampered with, used
 * as someone else or after expiry; forged Slack signatures count nothing; callback URLs aimed at private and
 * metadata addresses are refused at intake. Every refusal is checked against the ledger: nothing changed.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { escapeHtml } from '../../lambdas/core/html';
import type { AuditRecord } from '../../lambdas/core/ledger-record';
import { escapeTeamsMarkdown } from '../../lambdas/core/teams';
import { PAGE_SCRIPT } from '../../lambdas/decision/review-page';
import { contractProblems, send } from '../fixtures/hostile';
import { api, eventually, type RunningCountersign, startCountersign } from './harness';

const AGENT = 'agent-key-1';
const SIGNING_SECRET = 'security-signing-secret-0123456789abcdef';
const config = {
  version: 1,
  groups: {
    owners: {
      members: [
        { id: 'alice@example.com', email: 'alice@example.com', slackUserId: 'U0ALICE' },
        { id: 'bob@example.com', email: 'bob@example.com', slackUserId: 'U0BOB' },
        { id: 'carol@example.com', email: 'carol@example.com' },
      ],
    },
  },
  rules: [
    { name: 'quick', match: { action: 'test.quick' }, effect: 'require_approval', approvers: ['owners'], timeout: '4s' },
    { name: 'pair', match: { action: 'data.export' }, effect: 'require_approval', approvers: ['owners'], minApprovals: 2, timeout: '1h' },
  ],
  default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
  auditors: ['audit@example.com'],
  channels: {
    email: { from: 'countersign@example.com' },
    slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET', channel: 'C0APPROVALS' },
    teams: { webhookUrl: 'env:TEAMS_WEBHOOK_URL' },
  },
  local: {
    apiKeys: {
      [AGENT]: 'arn:aws:iam::000000000000:role/agent',
      'alice-key': 'alice@example.com',
      'bob-key': 'bob@example.com',
      'carol-key': 'carol@example.com',
      'audit-key': 'audit@example.com',
    },
  },
};

interface InboxMessage {
  id: string;
  channel: 'email' | 'slack' | 'teams';
  to: string;
  subject: string;
  text: string;
  html?: string;
  actionId: string;
  reviewUrl?: string;
  payload?: any;
}

/** Markup for every renderer at once: HTML (script, event handler, quotes), Slack mrkdwn controls, Markdown links. */
const hostile = (field: string) => `<script>alert("XSS-${field}")</script><img src=x onerror=alert('${field}')>&amp;<!channel>[l](javascript:x)*b*`;

describe('security, end to end against local mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-security-'));
  const configFile = join(dir, 'countersign.yaml');
  let cs: RunningCountersign;
  /** A response URL on local mode's Slack, which keeps what Countersign posts there (a GET reads it). */
  let captureUrl: string;

  beforeAll(async () => {
    writeFileSync(configFile, stringify(config));
    cs = await startCountersign({
      dataDir: join(dir, 'data'),
      configFile,
      env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET, TEAMS_WEBHOOK_URL: 'https://example.invalid/teams-webhook' },
    });
    captureUrl = `${new URL(cs.endpoints.slack).origin}/actions/security`;
  });
  afterAll(async () => {
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    const health = await send(`${cs.url}/healthz`);
    expect([health.status, health.json]).toEqual([200, { ok: true }]);
  });

  const audit = async (id: string): Promise<AuditRecord[]> => (await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body;
  const inbox = async (): Promise<InboxMessage[]> => (await api(cs.url, 'GET', '/_local/inbox.json')).body;
  /** Asks as the agent; waits until every approver was notified, so the ledger holds still under the test. */
  async function ask(body: Record<string, unknown>, messages: number): Promise<{ id: string; messages: InboxMessage[] }> {
    const res = await api(cs.url, 'POST', '/v1/actions', AGENT, body);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    const mine = await eventually(async () => {
      const found = (await inbox()).filter((m) => m.actionId === id);
      return found.length >= messages && (await audit(id)).some((r) => r.type === 'notified') ? found : undefined;
    });
    return { id, messages: mine };
  }
  const tokenOf = (messages: InboxMessage[], to: string) => messages.find((m) => m.channel === 'email' && m.to === to)!.reviewUrl!.split('/v1/review/')[1]!;
  const review = (token: string, decision?: string, headers: Record<string, string> = {}) =>
    send(
      `${cs.url}/v1/review/${token}`,
      decision === undefined
        ? { headers }
        : { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ decision }).toString() },
    );
  /** Every request id and record in the ledger, through the auditors' export (checkpoints left out). */
  async function ledgerRecords(): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await send(`${cs.url}/v1/audit/export${cursor ? `?cursor=${cursor}` : ''}`, { headers: { authorization: 'Bearer audit-key' } });
      for (const item of page.json.items as Array<{ requestId: string; seq: number }>)
        if (item.requestId.startsWith('act_')) out.push(`${item.requestId}#${item.seq}`);
      cursor = page.json.cursor;
    } while (cursor);
    return out.sort();
  }

  it('agent markup in every field reaches the review page, email, inbox page, Slack blocks and Teams card only escaped', async () => {
    const fields = {
      resource: hostile('resource'),
      environment: hostile('environment'),
      justification: hostile('justification'),
      // onBehalfOf is an identity: markup is refused there (below); these characters are legal in an address.
      onBehalfOf: "o'neil&co@example.com",
      agent: { name: hostile('agentName'), model: hostile('agentModel'), runId: hostile('agentRunId') },
      parameters: { [hostile('paramKey')]: hostile('paramValue'), nested: { [hostile('nestedKey')]: [hostile('nestedValue')] } },
    };
    // Email to alice, bob and carol; Slack DMs to alice and bob and the channel post; the Teams card.
    const { id, messages } = await ask({ action: 'data.export', ...fields }, 7);
    const scalarFields: Array<[string, string]> = [
      ['resource', fields.resource],
      ['environment', fields.environment],
      ['justification', fields.justification],
      ['agentName', fields.agent.name],
      ['agentModel', fields.agent.model],
      ['agentRunId', fields.agent.runId],
    ];
    const jsonFields = ['paramKey', 'paramValue', 'nestedKey', 'nestedValue'].map((f) => hostile(f));
    const markers = [...scalarFields.map(([f]) => f), 'paramKey', 'paramValue', 'nestedKey', 'nestedValue'].map((f) => `XSS-${f}`);

    /** An HTML document holding every value, escaped: no element, no handler, no raw payload. */
    const expectEscapedHtml = (where: string, raw: string, parametersAsJson: boolean) => {
      // The review page's own script (allowed by its hash) is the only one: none came from the agent's values.
      const html = raw.replace(`<script>${PAGE_SCRIPT}</script>`, '');
      expect(html, where).not.toMatch(/<script/i);
      expect(html, where).not.toMatch(/<img/i);
      expect(html, where).not.toMatch(/<[a-z]+[^>]*\son[a-z]+=/i);
      for (const [field, value] of scalarFields) {
        expect(html, `${where}: ${field}`).not.toContain(value);
        expect(html, `${where}: ${field}`).toContain(escapeHtml(value));
      }
      if (parametersAsJson) for (const value of jsonFields) expect(html, `${where}: parameters`).toContain(escapeHtml(JSON.stringify(value)));
      for (const marker of markers) expect(html, `${where}: ${marker}`).toContain(marker);
    };

    // The review page behind alice's personal link.
    const page = await send(messages.find((m) => m.channel === 'email' && m.to === 'alice@example.com')!.reviewUrl!);
    expect(page.status).toBe(200);
    expectEscapedHtml('review page', page.text, true);
    expect(page.text).toContain(escapeHtml(fields.onBehalfOf));
    const refused = await api(cs.url, 'POST', '/v1/actions', AGENT, { action: 'data.export', onBehalfOf: hostile('onBehalfOf') });
    expect([refused.status, refused.body.error.details[0].path]).toEqual([400, 'onBehalfOf']);

    // The email: HTML escaped; the plain-text part carries the values as written (text/plain renders nothing).
    const emails = messages.filter((m) => m.channel === 'email');
    expect(emails.map((m) => m.to).sort()).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com']);
    for (const mail of emails) {
      expectEscapedHtml(`email html to ${mail.to}`, mail.html!, true);
      for (const [, value] of scalarFields) expect(mail.text).toContain(value);
      expect(mail.subject).not.toMatch(/[\r\n]/);
    }
    // The local inbox page shows those texts: escaped.
    const inboxPage = await send(`${cs.url}/_local/inbox`);
    const mine = inboxPage.text
      .split('<article class="msg">')
      .filter((a) => a.includes(id))
      .join('');
    expect(mine).not.toMatch(/<script|<img/i);
    expect(mine).toContain(escapeHtml(fields.justification));

    // Slack: agent text only in plain_text (Slack parses nothing there); the mrkdwn fallback text escaped.
    const slack = messages.filter((m) => m.channel === 'slack');
    expect(slack.map((m) => m.to).sort()).toEqual(['C0APPROVALS', 'U0ALICE', 'U0BOB']);
    for (const message of slack) {
      const texts: Array<{ type: string; text: string; emoji?: boolean }> = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (node && typeof node === 'object') {
          const o = node as Record<string, unknown>;
          if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') texts.push(o as { type: string; text: string; emoji?: boolean });
          Object.values(o).forEach(walk);
        }
      };
      walk(message.payload.blocks);
      const carrying = texts.filter((t) => t.text.includes('XSS-'));
      expect(carrying.length, message.to).toBeGreaterThan(0);
      for (const t of carrying) expect([t.type, t.emoji], t.text).toEqual(['plain_text', false]);
      // mrkdwn holds no agent text, and no control sequence but Countersign's own date token (the viewer's time zone).
      const dateToken = /<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC>/g;
      for (const t of texts.filter((x) => x.type === 'mrkdwn')) expect(t.text.replace(dateToken, '')).not.toMatch(/<|XSS-/);
      // The notification fallback is mrkdwn: no control sequence can form in it.
      expect(message.payload.text).not.toMatch(/[<>]/);
      expect(message.payload.text).toContain('&lt;script&gt;');
      expect(JSON.stringify(message.payload.blocks)).toContain('XSS-justification');
    }

    // Teams: every value backslash-escaped, so nothing formats, links or becomes markup.
    const teams = messages.filter((m) => m.channel === 'teams');
    expect(teams).toHaveLength(1);
    const strings: string[] = [];
    const collect = (node: unknown): void => {
      if (typeof node === 'string') strings.push(node);
      else if (Array.isArray(node)) node.forEach(collect);
      else if (node && typeof node === 'object') Object.values(node).forEach(collect);
    };
    collect(teams[0]!.payload.attachments[0].content.body);
    // Escaped, the marker reads `XSS\-field`.
    const carrying = strings.filter((s) => s.includes('XSS'));
    expect(carrying.length).toBeGreaterThan(0);
    for (const marker of markers) expect(carrying.join('\n')).toContain(escapeTeamsMarkdown(marker));
    for (const s of carrying) {
      // With every `\x` pair taken out, no character Markdown or the linkifier acts on is left bare.
      // (Countersign's own marker for a value cut at the card's limit is not agent text.)
      const agentText = s.replace(/ … \(cut: \d+ more characters; the review page shows everything\)$/, '');
      expect(agentText.replace(/\\./g, ''), s).not.toMatch(/[`*_{}[\]()#+\-.!<>|~&:=]/);
    }
    for (const [field, value] of scalarFields.filter(([f]) => f !== 'justification' && !f.startsWith('agent'))) {
      expect(
        carrying.some((s) => s.includes(escapeTeamsMarkdown(value))),
        field,
      ).toBe(true);
    }
    expect(JSON.stringify(teams[0]!.payload.attachments[0].content.actions)).toBe(
      JSON.stringify([{ type: 'Action.OpenUrl', title: 'Review and decide', url: `${cs.url}/v1/actions/${id}/review` }]),
    );
  });

  it('review tokens: replayed on another request, spliced, tampered or presented as an API key are refused, changing nothing', async () => {
    const a = await ask({ action: 'data.export', resource: 'db:a' }, 7);
    const b = await ask({ action: 'data.export', resource: 'db:b' }, 7);
    const aliceA = tokenOf(a.messages, 'alice@example.com');
    const aliceB = tokenOf(b.messages, 'alice@example.com');
    const before = [await audit(a.id), await audit(b.id)];
    const [payloadA, macA] = aliceA.split('.') as [string, string];
    const [payloadB] = aliceB.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payloadA, 'base64url').toString()) as { v: number; r: string; a: string; e: number };
    expect(claims).toMatchObject({ r: a.id, a: 'alice@example.com' });
    const encode = (c: object) => Buffer.from(JSON.stringify(c)).toString('base64url');
    const flipLast = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    const tampered: Record<string, string> = {
      'request id swapped to B, MAC kept': `${encode({ ...claims, r: b.id })}.${macA}`,
      'payload of B with the MAC of A': `${payloadB}.${macA}`,
      'approver swapped to bob': `${encode({ ...claims, a: 'bob@example.com' })}.${macA}`,
      'expiry pushed out a year': `${encode({ ...claims, e: claims.e + 365 * 86400 })}.${macA}`,
      'MAC with its last character changed': `${payloadA}.${flipLast(macA)}`,
      'MAC cut short': `${payloadA}.${macA.slice(0, -1)}`,
      'MAC of zeros': `${payloadA}.${'A'.repeat(43)}`,
      'payload with its last character changed': `${flipLast(payloadA)}.${macA}`,
      'no MAC': payloadA,
      'padded base64': `${payloadA}=.${macA}`,
    };
    for (const [name, token] of Object.entries(tampered)) {
      for (const answer of [await review(token), await review(token, 'approve'), await review(token, 'deny')]) {
        expect(answer.status, name).toBe(404);
        expect(answer.contentType).toBe('text/html; charset=utf-8');
        expect(answer.text).toContain('This review link is not valid');
        expect(answer.text).not.toContain(a.id);
        expect(answer.text).not.toContain(b.id);
      }
    }
    // A review token is not an API credential: presented as a bearer key on B's decision API it is unauthorized.
    const asKey = await send(`${cs.url}/v1/actions/${b.id}/decision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceA}`, 'content-type': 'application/json' },
      body: '{"decision":"approve"}',
    });
    expect(contractProblems(asKey, [401])).toEqual([]);
    expect([await audit(a.id), await audit(b.id)]).toEqual(before);
  });

  it("review tokens: bob using alice's link votes as alice, once; a changed vote is 409; nothing double-counts", async () => {
    const { id, messages } = await ask({ action: 'data.export', resource: 'db:c' }, 7);
    const aliceToken = tokenOf(messages, 'alice@example.com');
    // Bob opens alice's forwarded link while holding his own credentials: the link decides who votes, bob counts nowhere.
    const first = await review(aliceToken, 'approve', { authorization: 'Bearer bob-key', cookie: 'countersign_session=bob' });
    expect(first.status).toBe(200);
    expect(first.text).toContain('Your decision (approve) is recorded');
    const again = await review(aliceToken, 'approve', { authorization: 'Bearer bob-key' });
    expect(again.status).toBe(200);
    const changed = await review(aliceToken, 'deny', { authorization: 'Bearer bob-key' });
    expect(changed.status).toBe(409);
    const votes = (await audit(id)).filter((r) => r.type === 'voted');
    expect(votes.map((r) => r.actor)).toEqual(['alice@example.com']);
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body).toMatchObject({
      status: 'pending',
      votes: [{ approver: 'alice@example.com', decision: 'approve' }],
    });
    // Bob's own vote is the second distinct approval: exactly two approvals settle it.
    const settled = await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'bob-key', { decision: 'approve' });
    expect(settled.body).toMatchObject({ status: 'approved' });
    expect(settled.body.votes.map((v: { approver: string }) => v.approver).sort()).toEqual(['alice@example.com', 'bob@example.com']);
    const records = await audit(id);
    expect(records.filter((r) => r.type === 'voted')).toHaveLength(2);
    expect(records.filter((r) => r.type === 'approved')).toHaveLength(1);
    // After the outcome alice's link still only shows; a vote through it is refused and changes nothing.
    expect((await review(aliceToken, 'deny')).status).toBe(409);
    expect(await audit(id)).toEqual(records);
  });

  it('review tokens: an expired link is 410 for GET and POST and records nothing', async () => {
    const { id, messages } = await ask({ action: 'test.quick' }, 7);
    const token = tokenOf(messages, 'alice@example.com');
    const expiresAt = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).e as number;
    expect((await review(token)).status).toBe(200);
    // The rule's 4 s timeout: the link expires with the request.
    await eventually(async () => ((await api(cs.url, 'GET', `/v1/actions/${id}?wait=5`, AGENT)).body.status === 'expired' ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt * 1000 - Date.now() + 100)));
    const records = await audit(id);
    for (const answer of [await review(token), await review(token, 'approve'), await review(token, 'deny')]) {
      expect(answer.status).toBe(410);
      expect(answer.text).toContain('This review link has expired');
    }
    expect(await audit(id)).toEqual(records);
    expect(records.some((r) => r.type === 'voted')).toBe(false);
  });

  it('Slack: forged, stale, replayed and unsigned interactions are 401 and count nothing; a genuine click does', async () => {
    const { id } = await ask({ action: 'data.export', resource: 'db:slack' }, 7);
    const before = await audit(id);
    const payload = (user: string) =>
      new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          user: { id: user },
          response_url: `${captureUrl}/r`,
          actions: [{ type: 'button', action_id: 'countersign_approve', value: id }],
        }),
      }).toString();
    const body = payload('U0ALICE');
    const now = Math.floor(Date.now() / 1000);
    const sign = (text: string, timestamp: number | string, secret = SIGNING_SECRET) =>
      `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${text}`).digest('hex')}`;
    const post = (text: string, headers: Record<string, string>) =>
      send(`${cs.url}/v1/slack/interactions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: text });
    const forged: Record<string, [string, Record<string, string>]> = {
      'wrong secret': [body, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(body, now, 'not-the-secret') }],
      'empty secret': [body, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(body, now, '') }],
      'timestamp 6 minutes old': [body, { 'x-slack-request-timestamp': String(now - 360), 'x-slack-signature': sign(body, now - 360) }],
      'timestamp 6 minutes ahead': [body, { 'x-slack-request-timestamp': String(now + 360), 'x-slack-signature': sign(body, now + 360) }],
      'signed for another timestamp (replay)': [body, { 'x-slack-request-timestamp': String(now - 1), 'x-slack-signature': sign(body, now) }],
      'body changed after signing': [payload('U0BOB'), { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(body, now) }],
      'no timestamp': [body, { 'x-slack-signature': sign(body, now) }],
      'no signature': [body, { 'x-slack-request-timestamp': String(now) }],
      'no headers': [body, {}],
      'v1 scheme': [body, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(body, now).replace('v0=', 'v1=') }],
      'uppercase hex': [body, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${sign(body, now).slice(3).toUpperCase()}` }],
      'bare hex': [body, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(body, now).slice(3) }],
      'millisecond timestamp': [body, { 'x-slack-request-timestamp': String(now * 1000), 'x-slack-signature': sign(body, now * 1000) }],
      'non-numeric timestamp': [body, { 'x-slack-request-timestamp': `${now}.0`, 'x-slack-signature': sign(body, `${now}.0`) }],
    };
    for (const [name, [text, headers]] of Object.entries(forged)) {
      const answer = await post(text, headers);
      expect(contractProblems(answer, [401]), name).toEqual([]);
      expect(answer.json.error.code, name).toBe('unauthorized');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await (await fetch(`${captureUrl}/r`)).json()).toEqual([]);
    expect(await audit(id)).toEqual(before);
    // The control: the same click, signed right, counts once as alice.
    const genuine = await post(body, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(body, now) });
    expect([genuine.status, genuine.text]).toEqual([200, '']);
    expect((await audit(id)).filter((r) => r.type === 'voted').map((r) => r.actor)).toEqual(['alice@example.com']);
    // Only the genuine click was answered on its response URL.
    expect(await (await fetch(`${captureUrl}/r`)).json()).toHaveLength(1);
  });

  it('callback URLs at private, loopback-in-disguise, metadata and non-http addresses are 400 naming callbackUrl, creating nothing', async () => {
    const before = await ledgerRecords();
    const refused = [
      'http://10.0.0.1/cb',
      'https://10.0.0.1/cb',
      'https://10.1/cb',
      'https://192.168.1.1/cb',
      'https://172.16.0.1/cb',
      'https://100.64.0.1/cb',
      'http://169.254.169.254/latest/meta-data/',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::ffff:169.254.169.254]/latest/meta-data/',
      'https://[::ffff:a9fe:a9fe]/',
      'https://2852039166/',
      'https://0251.0376.0251.0376/',
      'https://0xa9.0xfe.0xa9.0xfe/',
      'https://[fd00:ec2::254]/latest/meta-data/',
      'https://[fe80::1]/',
      'https://0.0.0.0/',
      'https://[::]/',
      'https://metadata.google.internal/',
      'https://metadata.local/',
      'https://db.localhost/',
      'http://example.com/cb',
      'file:///etc/passwd',
      'gopher://127.0.0.1:70/_x',
      'ftp://127.0.0.1/x',
      'dict://127.0.0.1:11211/stats',
      'javascript:alert(1)',
      'data:text/plain,x',
      'https://user:secret@example.com/cb',
      'not a url',
      '//127.0.0.1/cb',
    ];
    for (const callbackUrl of refused) {
      const answer = await send(`${cs.url}/v1/actions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${AGENT}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'data.export', callbackUrl }),
      });
      expect(contractProblems(answer, [400]), callbackUrl).toEqual([]);
      expect(answer.json.error, callbackUrl).toMatchObject({ code: 'invalid_request', details: [{ path: 'callbackUrl', message: expect.any(String) }] });
      expect(answer.json.error.message, callbackUrl).toMatch(/^callbackUrl /);
    }
    expect(await ledgerRecords()).toEqual(before);
    // The control: local mode takes http to loopback (README "Telling the requester").
    const ok = await api(cs.url, 'POST', '/v1/actions', AGENT, { action: 'data.export', callbackUrl: 'http://127.0.0.1:9/cb' });
    expect(ok.status).toBe(202);
  });
});
