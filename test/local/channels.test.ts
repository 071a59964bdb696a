/**
 * One request reaches every configured channel (email, Slack DMs and channel, Teams), what was sent is ledgered,
 * and the requester's callback receives the signed outcome. Local mode keeps each message in the inbox with the
 * exact payload that would be sent.
 */
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { api, eventually, type RunningCountersign, startCountersign } from './harness';

const config = {
  version: 1,
  groups: {
    owners: {
      members: [
        { id: 'alice@example.com', email: 'alice@example.com', slackUserId: 'U0ALICE' },
        { id: 'bob@example.com', email: 'bob@example.com' },
      ],
    },
    agents: { members: [{ id: 'carol@example.com', slackUserId: 'U0CAROL' }] },
  },
  rules: [
    { name: 'teams-only', match: { action: 'infra.*' }, effect: 'require_approval', approvers: ['owners'], channels: ['teams'] },
    { name: 'step-up', match: { action: 'iam.*' }, effect: 'require_approval', approvers: ['owners'], channels: ['email'], requireSignIn: true },
  ],
  auth: { oidc: { issuer: 'https://login.example.com', clientId: 'countersign', clientSecret: 'env:OIDC_CLIENT_SECRET' } },
  default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
  channels: {
    email: { from: 'countersign@example.com' },
    slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET', channel: 'C0APPROVALS' },
    teams: { webhookUrl: 'env:TEAMS_WEBHOOK_URL' },
  },
  local: { apiKeys: { 'agent-key-1': 'arn:aws:iam::000000000000:role/agent', 'alice-key': 'alice@example.com', 'bob-key': 'bob@example.com' } },
};

interface InboxMessage {
  channel: string;
  to: string;
  actionId: string;
  html?: string;
  reviewUrl?: string;
  payload?: any;
}

describe('channels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-channels-'));
  const callbacks: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
  let hook: Server;
  let hookUrl: string;
  let cs: RunningCountersign;

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        callbacks.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    hookUrl = `${await listenLoopback(hook)}/countersign-callback`;
    writeFileSync(join(dir, 'config.yaml'), stringify(config));
    cs = await startCountersign({
      dataDir: join(dir, 'data'),
      configFile: join(dir, 'config.yaml'),
      env: {
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 'slack-secret',
        TEAMS_WEBHOOK_URL: 'https://example.webhook.office.com/x',
        OIDC_CLIENT_SECRET: 'oidc-secret',
      },
    });
  });
  afterAll(async () => {
    await cs?.stop();
    await closeServer(hook);
    rmSync(dir, { recursive: true, force: true });
  });

  const inboxFor = (id: string, count: number) =>
    eventually(async () => {
      const mine = ((await api(cs.url, 'GET', '/_local/inbox.json')).body as InboxMessage[]).filter((m) => m.actionId === id);
      return mine.length >= count ? mine : undefined;
    });

  it('reaches email, Slack and Teams with one request, and ledgers what was sent', async () => {
    const { body } = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', {
      action: 'data.export',
      justification: '<!channel> *now* <https://evil.example|click>',
    });
    const messages = await inboxFor(body.id, 5);
    const by = (channel: string) => messages.filter((m) => m.channel === channel);
    expect(
      by('email')
        .map((m) => m.to)
        .sort(),
    ).toEqual(['alice@example.com', 'bob@example.com']);
    expect(by('email')[0]!.html).toContain('&lt;!channel&gt;');
    expect(by('email')[0]!.html).not.toMatch(/<img|<script/);
    // Slack: a DM with a personal link to the bound approver, and a post in the channel linking the landing page.
    expect(
      by('slack')
        .map((m) => m.to)
        .sort(),
    ).toEqual(['C0APPROVALS', 'U0ALICE']);
    const dm = by('slack').find((m) => m.to === 'U0ALICE')!;
    expect(dm.reviewUrl).toMatch(/\/v1\/review\//);
    expect(dm.payload).toMatchObject({ channel: 'U0ALICE', blocks: expect.any(Array) });
    // Agent text sits only in plain_text objects (never parsed); nothing Slack parses as mrkdwn carries it.
    const parsed: string[] = [dm.payload.text];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if (o.type === 'mrkdwn' && typeof o.text === 'string') parsed.push(o.text);
        Object.values(o).forEach(walk);
      }
    };
    walk(dm.payload.blocks);
    // The only control sequence is Countersign's own date token (each reader's time zone, UTC where Slack cannot).
    const dateToken = /<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC>/g;
    expect(parsed.join('\n')).toMatch(dateToken);
    expect(parsed.join('\n').replace(dateToken, '')).not.toMatch(/<!|<@|<http|\*now\*/);
    expect(JSON.stringify(dm.payload)).toContain('plain_text');
    expect(by('slack').find((m) => m.to === 'C0APPROVALS')!.reviewUrl).toBe(`${cs.url}/v1/actions/${body.id}/review`);
    // Teams: the card opens the landing page; no personal token in a channel.
    const card = by('teams')[0]!.payload;
    expect(card.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    expect(JSON.stringify(card)).toContain(`/v1/actions/${body.id}/review`);
    expect(JSON.stringify(card)).not.toContain('/v1/review/');
    const notified = await eventually(async () =>
      ((await api(cs.url, 'GET', `/v1/actions/${body.id}/audit`, 'agent-key-1')).body as any[]).find((r) => r.type === 'notified'),
    );
    expect(notified.data.channels.email.sent.sort()).toEqual(['alice@example.com', 'bob@example.com']);
    expect(notified.data.channels.slack.sent.sort()).toEqual(['C0APPROVALS', 'U0ALICE']);
    expect(notified.data.channels.teams.sent).toEqual(['teams']);
  });

  it("asks only on the rule's channels", async () => {
    const { body } = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'infra.apply' });
    await inboxFor(body.id, 1);
    await new Promise((r) => setTimeout(r, 500));
    expect((await inboxFor(body.id, 1)).map((m) => m.channel)).toEqual(['teams']);
  });

  it("posts the signed outcome to the requester's callback URL", async () => {
    const { body } = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export', callbackUrl: hookUrl });
    await api(cs.url, 'POST', `/v1/actions/${body.id}/decision`, 'alice-key', { decision: 'approve' });
    const call = await eventually(async () => callbacks.find((c) => c.body.includes(body.id)));
    const sent = JSON.parse(call.body);
    expect(sent).toMatchObject({ id: body.id, status: 'approved', action: 'data.export', decidedBy: 'approvers', receipt: expect.any(String) });
    const jws = String(call.headers['countersign-signature']);
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    expect(Buffer.from(payload, 'base64url').toString()).toBe(call.body);
    const pem = await (await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer agent-key-1' } })).text();
    expect(
      verify('sha256', Buffer.from(`${header}.${payload}`), { key: createPublicKey(pem), dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')),
    ).toBe(true);
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'ES256', typ: 'countersign-callback+jws' });
  });

  it('tells the person the agent acts for, through their bound Slack user, when the request settles', async () => {
    const { body } = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export', onBehalfOf: 'carol@example.com' });
    await api(cs.url, 'POST', `/v1/actions/${body.id}/decision`, 'bob-key', { decision: 'deny', reason: 'not now' });
    const dm = await eventually(async () =>
      ((await api(cs.url, 'GET', '/_local/inbox.json')).body as InboxMessage[]).find(
        (m) => m.actionId === body.id && m.channel === 'slack' && m.to === 'U0CAROL',
      ),
    );
    expect(dm.payload).toMatchObject({ channel: 'U0CAROL', text: `Your request data.export (${body.id}) is denied.` });
  });

  it('makes personal links of a requireSignIn rule ask for sign-in first, and decides nothing without it', async () => {
    const { body } = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'iam.grant' });
    const [mail] = await inboxFor(body.id, 2);
    const before = ((await api(cs.url, 'GET', `/v1/actions/${body.id}/audit`, 'agent-key-1')).body as unknown[]).length;
    for (const init of [{}, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=approve' }]) {
      const res = await fetch(mail!.reviewUrl!, { ...init, redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/v1/auth/login?request=${body.id}`);
    }
    expect(((await api(cs.url, 'GET', `/v1/actions/${body.id}/audit`, 'agent-key-1')).body as unknown[]).length).toBe(before);
    expect((await api(cs.url, 'GET', `/v1/actions/${body.id}`, 'agent-key-1')).body.status).toBe('pending');
  });

  it('refuses callback URLs aimed at private, link-local and metadata addresses', async () => {
    for (const callbackUrl of [
      'http://169.254.169.254/latest/meta-data/',
      'https://169.254.169.254/',
      'http://10.0.0.8/hook',
      'https://[fd00:ec2::254]/',
      'file:///etc/passwd',
    ]) {
      const res = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export', callbackUrl });
      expect(res.status, callbackUrl).toBe(400);
      expect(res.body.error.details[0].path).toBe('callbackUrl');
    }
  });
});
