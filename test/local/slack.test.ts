/**
 * Slack interactions end to end, against local mode as `npm start` runs it: each test signs a block_actions payload
 * exactly as Slack does (form-encoded `payload=`, v0 HMAC over `v0:timestamp:body`), posts it to
 * /v1/slack/interactions, and reads what Countersign sent back to a response_url on local mode's Slack, which keeps
 * what is posted to it and answers it to a GET.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AuditRecord } from '../../lambdas/core/ledger-record';
import { api, eventually, postSlackClick, type RunningCountersign, startCountersign } from './harness';

const SIGNING_SECRET = 'e2e-signing-secret-0123456789abcdef';
const AGENT = 'agent-key-1';
const config = {
  version: 1,
  groups: {
    owners: {
      members: [
        { id: 'alice@example.com', slackUserId: 'U0ALICE' },
        { id: 'bob@example.com', slackUserId: 'U0BOB' },
        { id: 'carol@example.com', slackUserId: 'U0CAROL' },
        { id: 'dave@example.com', slackUserId: 'U0DAVE' },
      ],
    },
    outsiders: { members: [{ id: 'mallory@example.com', slackUserId: 'U0MALLORY' }] },
  },
  rules: [{ name: 'pair', match: { action: 'data.export' }, effect: 'require_approval', approvers: ['owners'], minApprovals: 2, timeout: '1h' }],
  default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
  auditors: ['audit@example.com'],
  channels: { slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET', channel: 'C0APPROVALS' } },
  local: { apiKeys: { [AGENT]: 'arn:aws:iam::000000000000:role/agent', 'audit-key': 'audit@example.com' } },
};

describe('Slack interactions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-slack-'));
  const configFile = join(dir, 'countersign.yaml');
  /** Response URLs on local mode's Slack: the origin of its Web API. */
  let captureUrl: string;
  let cs: RunningCountersign;
  let clicks = 0;

  beforeAll(async () => {
    writeFileSync(configFile, stringify(config));
    cs = await startCountersign({ dataDir: join(dir, 'data'), configFile, env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET } });
    captureUrl = `${new URL(cs.endpoints.slack).origin}/actions/T0TEAM`;
  });
  afterAll(async () => {
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const audit = async (id: string): Promise<AuditRecord[]> => (await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body;
  /** Asks as the agent and waits until approvers were notified, so the ledger holds still under the test. */
  const ask = async (body: Record<string, unknown>) => {
    const res = await api(cs.url, 'POST', '/v1/actions', AGENT, body);
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    await eventually(async () => ((await audit(id)).some((r) => r.type === 'notified') ? true : undefined));
    return id;
  };

  /** Clicks a button as Slack user `user`: signs and posts the interaction; answers the HTTP answer and what reached response_url. */
  async function click(
    user: string,
    requestId: string,
    actionId: 'countersign_approve' | 'countersign_deny',
    opts: { timestamp?: number; secret?: string; message?: Record<string, unknown> } = {},
  ) {
    const path = `/respond/${++clicks}`;
    const res = await postSlackClick(cs.url, opts.secret ?? SIGNING_SECRET, {
      user,
      requestId,
      actionId,
      responseUrl: `${captureUrl}${path}`,
      ...(opts.message ? { message: opts.message } : {}),
      ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
    });
    const text = await res.text();
    const responses = (await (await fetch(`${captureUrl}${path}`)).json()) as Array<Record<string, any>>;
    return { status: res.status, body: text, responses };
  }

  it('refuses a bad signature and a stale timestamp with 401, changing nothing', async () => {
    const id = await ask({ action: 'data.export', resource: 'db:1' });
    const before = await audit(id);
    const forged = await click('U0ALICE', id, 'countersign_approve', { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body).error.code).toBe('unauthorized');
    const stale = await click('U0ALICE', id, 'countersign_approve', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const future = await click('U0ALICE', id, 'countersign_approve', { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 });
    expect(future.status).toBe(401);
    const unsigned = await fetch(`${cs.url}/v1/slack/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'payload=%7B%7D',
    });
    expect(unsigned.status).toBe(401);
    for (const refused of [forged, stale, future]) expect(refused.responses).toEqual([]);
    expect(await audit(id)).toEqual(before);
  });

  it('tells an unbound Slack user, a non-approver and the person the agent acts for that their click did not count', async () => {
    const id = await ask({ action: 'data.export', onBehalfOf: 'carol@example.com', justification: '<!channel> *urgent*' });
    const unbound = await click('U0NOBODY', id, 'countersign_approve');
    expect([unbound.status, unbound.body]).toEqual([200, '']);
    expect(unbound.responses).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: expect.stringMatching(/not linked to a Countersign approver/) },
    ]);

    const self = await click('U0CAROL', id, 'countersign_approve');
    expect(self.status).toBe(200);
    expect(self.responses).toEqual([{ response_type: 'ephemeral', replace_original: false, text: expect.stringMatching(/agent acts on your behalf/) }]);

    const outsider = await click('U0MALLORY', id, 'countersign_deny');
    expect(outsider.status).toBe(200);
    expect(outsider.responses).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: expect.stringMatching(/not an approver of this request/) },
    ]);

    expect((await audit(id)).filter((r) => r.type === 'voted')).toEqual([]);
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body.status).toBe('pending');
  });

  it('counts a double click once, settles on the second approver, shows who decided, and refuses a click after that', async () => {
    const id = await ask({ action: 'data.export', resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers', environment: 'production' });

    const first = await click('U0ALICE', id, 'countersign_approve');
    const again = await click('U0ALICE', id, 'countersign_approve');
    for (const c of [first, again]) {
      expect([c.status, c.body]).toEqual([200, '']);
      expect(c.responses).toHaveLength(1);
      expect(c.responses[0]!.replace_original).toBe(true);
      const shown = JSON.stringify(c.responses[0]!.blocks);
      expect(shown).toContain('alice@example.com approved');
      expect(shown).toContain('1 of 2 given');
      expect(shown).toContain('countersign_approve'); // still open: the buttons stay
    }
    expect((await audit(id)).filter((r) => r.type === 'voted')).toHaveLength(1);

    const second = await click('U0BOB', id, 'countersign_approve');
    expect([second.status, second.body]).toEqual([200, '']);
    const outcome = second.responses[0]!;
    expect(outcome.replace_original).toBe(true);
    expect(outcome.blocks[0].text.text).toBe('Approved: data.export');
    expect(JSON.stringify(outcome.blocks)).toContain('Approved by alice@example.com, bob@example.com.');
    expect(outcome.blocks.some((b: { type: string }) => b.type === 'actions')).toBe(false);
    const settled = await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT);
    expect(settled.body).toMatchObject({ status: 'approved', decidedBy: 'approvers' });
    expect(settled.body.receipt).toEqual(expect.any(String));

    const late = await click('U0DAVE', id, 'countersign_deny');
    expect(late.status).toBe(200);
    expect(late.responses).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: expect.stringMatching(/not counted: the request is already approved/) },
    ]);
    const records = await audit(id);
    expect(records.filter((r) => r.type === 'voted').map((r) => r.actor)).toEqual(['alice@example.com', 'bob@example.com']);
    expect(records.filter((r) => r.type === 'approved')).toHaveLength(1);
    expect(records.some((r) => r.type === 'denied')).toBe(false);
  });

  it('settles as denied on one Deny and names who denied', async () => {
    const id = await ask({ action: 'infra.change' });
    const deny = await click('U0DAVE', id, 'countersign_deny');
    expect(deny.status).toBe(200);
    expect(deny.responses[0]!.blocks[0].text.text).toBe('Denied: infra.change');
    expect(JSON.stringify(deny.responses[0]!.blocks)).toContain('Denied by dave@example.com.');
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body).toMatchObject({
      status: 'denied',
      votes: [{ approver: 'dave@example.com', decision: 'deny' }],
    });
    // A changed vote is refused, as on the decision API.
    const changed = await click('U0DAVE', id, 'countersign_approve');
    expect(changed.responses).toEqual([{ response_type: 'ephemeral', replace_original: false, text: expect.stringMatching(/you already voted deny/) }]);
  });

  it('presses the buttons of the message local mode put in the inbox', async () => {
    const id = await ask({ action: 'data.export', parameters: { table: 'customers' }, justification: '<@U0ALICE> said *yes*' });
    const inbox = (await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ channel: string; to: string; actionId: string; payload?: any }>;
    const posted = inbox.find((m) => m.channel === 'slack' && m.to === 'C0APPROVALS' && m.actionId === id);
    expect(posted?.payload).toMatchObject({ channel: 'C0APPROVALS', unfurl_links: false, unfurl_media: false });
    const buttons = posted!.payload.blocks.find((b: { type: string }) => b.type === 'actions').elements as Array<{
      action_id: string;
      value?: string;
      url?: string;
    }>;
    const approve = buttons.find((b) => b.action_id === 'countersign_approve')!;
    const review = buttons.find((b) => b.action_id === 'countersign_review')!;
    expect(approve.value).toBe(id);
    // Slack sends the message the button is in along with the click; the update keeps its Review link.
    const pressed = await click('U0BOB', approve.value!, 'countersign_approve', {
      message: { type: 'message', ts: '1.2', text: posted!.payload.text, blocks: posted!.payload.blocks },
    });
    expect(pressed.status).toBe(200);
    expect(pressed.responses[0]!.replace_original).toBe(true);
    expect(JSON.stringify(pressed.responses[0]!.blocks)).toContain(review.url!);
    expect(JSON.stringify(pressed.responses[0]!.blocks)).toContain('bob@example.com approved');
    expect((await audit(id)).filter((r) => r.type === 'voted').map((r) => r.actor)).toEqual(['bob@example.com']);
  });
});
