/**
 * A failing channel is retried with backoff and never blocks the others; when its retries run out the request
 * still stands and the failure is in the ledger. Local mode's Slack and Teams fail through fault injection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { LocalFaults } from '../../local/faults';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { api, eventually } from './harness';

describe('channel failures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-fail-'));
  const faults = new LocalFaults();
  let runtime: LocalRuntime;

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
    // Slack always fails (503), Teams is throttled twice (429) then works, email is untouched.
    faults.add({ service: 'slack', status: 503 });
    faults.add({ service: 'teams', status: 429, times: 2 });
    runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0, faults });
  });
  afterAll(async () => {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries, delivers what it can, and ledgers what failed; the request stands', async () => {
    const { body } = await api(runtime.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export' });
    const notified = await eventually(
      async () => ((await api(runtime.url, 'GET', `/v1/actions/${body.id}/audit`, 'agent-key-1')).body as any[]).find((r) => r.type === 'notified'),
      30_000,
    );
    expect(notified.data.channels.email.sent.sort()).toEqual(['alice@example.com', 'bob@example.com']);
    expect(notified.data.channels.teams).toEqual({ sent: ['teams'], failed: [] });
    expect(notified.data.channels.slack.sent).toEqual([]);
    expect(notified.data.channels.slack.failed).toEqual([{ to: 'U0ALICE', error: expect.stringContaining('503') }]);
    // Calls that reached each service: three Slack attempts, all failed; two throttled Teams posts, then one through.
    const [slack, teams] = faults.list();
    expect([slack!.matched, slack!.failed]).toEqual([3, 3]);
    expect([teams!.matched, teams!.failed]).toEqual([3, 2]);
    const inbox = ((await api(runtime.url, 'GET', '/_local/inbox.json')).body as Array<{ channel: string; actionId: string }>).filter(
      (m) => m.actionId === body.id,
    );
    expect(inbox.map((m) => m.channel).sort()).toEqual(['email', 'email', 'teams']);
    expect((await api(runtime.url, 'GET', `/v1/actions/${body.id}`, 'agent-key-1')).body.status).toBe('pending');
  });
});
