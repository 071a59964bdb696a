/**
 * A failing channel is retried with backoff and never blocks the others; when its retries run out the request
 * still stands and the failure is in the ledger. The local inbox is put behind a proxy that fails chosen channels.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { api, eventually } from './harness';

describe('channel failures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-fail-'));
  const attempts = new Map<string, number>();
  let runtime: LocalRuntime;
  let proxy: Server;

  beforeAll(async () => {
    process.env.TEAMS_URL = 'https://example.webhook.office.com/x';
    process.env.SLACK_TOKEN = 'xoxb-test';
    process.env.SLACK_SIGNING = 'secret';
    const config = parseConfig(`
version: 1
groups: { owners: { members: [{ id: alice@example.com, email: alice@example.com, slackUserId: U0ALICE }, { id: bob@example.com, email: bob@example.com }] } }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels:
  email: { from: countersign@example.com }
  slack: { botToken: env:SLACK_TOKEN, signingSecret: env:SLACK_SIGNING }
  teams: { webhookUrl: env:TEAMS_URL }
local: { apiKeys: { agent-key-1: "arn:aws:iam::000000000000:role/agent" } }
`);
    // The functions deliver to a proxy in front of the inbox, which learns the inbox's URL once local mode is up.
    let inbox = '';
    // Slack always fails (503), Teams is throttled twice (429) then works, email passes straight through.
    proxy = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', async () => {
        const { channel } = JSON.parse(text) as { channel: string };
        const n = (attempts.get(channel) ?? 0) + 1;
        attempts.set(channel, n);
        if (channel === 'slack' || (channel === 'teams' && n <= 2)) return res.writeHead(channel === 'slack' ? 503 : 429).end();
        const forwarded = await fetch(inbox, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
        res.writeHead(forwarded.status).end(await forwarded.text());
      });
    });
    const inboxUrl = `${await listenLoopback(proxy)}/_local/inbox`;
    runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0, inboxUrl });
    inbox = `${runtime.url}/_local/inbox`;
  });
  afterAll(async () => {
    await runtime?.close();
    await closeServer(proxy);
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries, delivers what it can, and ledgers what failed; the request stands', async () => {
    const { body } = await api(runtime.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export' });
    const notified = await eventually(async () => ((await api(runtime.url, 'GET', `/v1/actions/${body.id}/audit`, 'agent-key-1')).body as any[]).find((r) => r.type === 'notified'), 30_000);
    expect(notified.data.channels.email.sent.sort()).toEqual(['alice@example.com', 'bob@example.com']);
    expect(notified.data.channels.teams).toEqual({ sent: ['teams'], failed: [] });
    expect(notified.data.channels.slack.sent).toEqual([]);
    expect(notified.data.channels.slack.failed).toEqual([{ to: 'U0ALICE', error: expect.stringContaining('503') }]);
    expect(attempts.get('slack')).toBe(3);
    expect(attempts.get('teams')).toBe(3);
    expect((await api(runtime.url, 'GET', `/v1/actions/${body.id}`, 'agent-key-1')).body.status).toBe('pending');
  });
});
