/**
 * Metrics end to end: a full approval through local mode's functions, one of whose notifications fails (Slack answers
 * 503 through fault injection), and the embedded metric format lines the functions print: as printed (local mode
 * relays and keeps them) and as `GET /_local/metrics` adds them up, with the metrics and dimensions of the catalogue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { type EmfDocument, METRIC_NAMESPACE } from '../../lambdas/core/metrics';
import { LocalFaults } from '../../local/faults';
import type { MetricSeries } from '../../local/metrics';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { api, eventually } from './harness';

const AGENT = 'agent-key-1';

describe('metrics of a full approval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-metrics-'));
  const faults = new LocalFaults();
  let runtime: LocalRuntime;
  let id: string;

  beforeAll(async () => {
    process.env.SLACK_TOKEN = 'xoxb-test';
    process.env.SLACK_SIGNING = 'secret';
    const config = parseConfig(`
version: 1
groups: { owners: { members: [{ id: alice@example.com, email: alice@example.com, slackUserId: U0ALICE }, { id: bob@example.com, email: bob@example.com }] } }
rules:
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners], timeout: 1h }
default: { effect: deny, reason: not covered }
channels:
  email: { from: countersign@example.com }
  slack: { botToken: env:SLACK_TOKEN, signingSecret: env:SLACK_SIGNING }
local: { apiKeys: { ${AGENT}: "arn:aws:iam::000000000000:role/agent", bob-key: bob@example.com } }
`);
    // Every Slack call fails: the DM to alice is a failed notification; email still reaches both approvers.
    faults.add({ service: 'slack', status: 503 });
    runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0, faults, scheduleTimers: false });

    const asked = await api(runtime.url, 'POST', '/v1/actions', AGENT, { action: 'data.export' });
    expect(asked.status).toBe(202);
    id = asked.body.id;
    // Notified (the ledger says what was sent and what failed), then approved by bob.
    await eventually(
      async () => ((await api(runtime.url, 'GET', `/v1/actions/${id}/audit`, AGENT)).body as Array<{ type: string }>).find((r) => r.type === 'notified'),
      30_000,
    );
    expect((await api(runtime.url, 'POST', `/v1/actions/${id}/decision`, 'bob-key', { decision: 'approve' })).status).toBe(200);
    expect((await api(runtime.url, 'GET', `/v1/actions/act_doesnotexist000000000`, AGENT)).status).toBe(404);
    // The workflow's closing steps run after the vote: the metrics are complete once it says approved.
    await eventually(async () => ((await api(runtime.url, 'GET', `/v1/actions/${id}?wait=5`, AGENT)).body.status === 'approved' ? true : undefined), 30_000);
  });
  afterAll(async () => {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The EMF documents the functions printed, as printed. */
  const printed = () => runtime.metrics.lines.map(({ line }) => JSON.parse(line) as EmfDocument);
  /** The documents that publish metric `name`, with the dimension values given. */
  const publishing = (name: string, dimensions: Record<string, string>) =>
    printed().filter((doc) => name in doc && Object.entries(dimensions).every(([d, v]) => doc[d] === v));

  it('prints EMF lines with the catalogue metrics, under their dimensions and as totals', () => {
    for (const doc of printed()) {
      expect(doc._aws.Timestamp).toEqual(expect.any(Number));
      for (const directive of doc._aws.CloudWatchMetrics) {
        expect(directive.Namespace).toBe(METRIC_NAMESPACE);
        // Every metric is also published without dimensions, so an alarm can watch its total.
        expect(directive.Dimensions.at(-1)).toEqual([]);
      }
    }
    const directiveOf = (doc: EmfDocument, name: string) => doc._aws.CloudWatchMetrics.find((d) => d.Metrics.some((m) => m.Name === name));
    const [requests] = publishing('Requests', { Effect: 'require_approval', Rule: 'exports' });
    expect(requests?.Requests).toBe(1);
    expect(directiveOf(requests!, 'Requests')).toMatchObject({ Dimensions: [['Effect', 'Rule'], []], Metrics: [{ Name: 'Requests', Unit: 'Count' }] });
    const [sent] = publishing('NotificationsSent', { Channel: 'email' });
    expect(sent?.NotificationsSent).toBe(2);
    const [failed] = publishing('NotificationsFailed', { Channel: 'slack' });
    expect(failed?.NotificationsFailed).toBe(1);
    expect(directiveOf(failed!, 'NotificationsFailed')).toMatchObject({ Dimensions: [['Channel'], []] });
    const [decided] = publishing('Decisions', { Outcome: 'approved' });
    expect(decided?.Decisions).toBe(1);
    const [time] = publishing('TimeToDecision', { Rule: 'exports' });
    expect(time?.TimeToDecision).toEqual(expect.any(Number));
    expect(directiveOf(time!, 'TimeToDecision')?.Metrics).toEqual([{ Name: 'TimeToDecision', Unit: 'Milliseconds' }]);
    expect(publishing('HttpResponses', { Route: 'POST /v1/actions', StatusClass: '2xx' })).toHaveLength(1);
    expect(publishing('HttpResponses', { Route: 'POST /v1/actions/{id}/decision', StatusClass: '2xx' })).toHaveLength(1);
    expect(publishing('HttpResponses', { Route: 'GET /v1/actions/{id}', StatusClass: '4xx' })).toHaveLength(1);
  });

  it('adds them up at GET /_local/metrics: per dimension values and in total', async () => {
    const { status, body } = await api(runtime.url, 'GET', '/_local/metrics');
    expect(status).toBe(200);
    expect(body.namespace).toBe('Countersign');
    const series = (name: string, dimensions: Record<string, string> = {}) =>
      (body.metrics as MetricSeries[]).find((s) => s.name === name && JSON.stringify(s.dimensions) === JSON.stringify(dimensions));
    expect(series('Requests', { Effect: 'require_approval', Rule: 'exports' })).toMatchObject({ unit: 'Count', count: 1, sum: 1, last: 1 });
    expect(series('Requests')).toMatchObject({ sum: 1 });
    expect(series('NotificationsSent', { Channel: 'email' })).toMatchObject({ sum: 2 });
    expect(series('NotificationsFailed', { Channel: 'slack' })).toMatchObject({ sum: 1 });
    expect(series('NotificationsFailed')).toMatchObject({ sum: 1 });
    expect(series('Decisions', { Outcome: 'approved' })).toMatchObject({ sum: 1 });
    expect(series('TimeToDecision', { Rule: 'exports' })).toMatchObject({ unit: 'Milliseconds', count: 1 });
    expect(series('HttpResponses', { Route: 'GET /v1/actions/{id}', StatusClass: '4xx' })).toMatchObject({ sum: 1 });
    expect(series('HttpResponses', { StatusClass: '5xx' })).toBeUndefined();
    expect(series('Expiries')).toBeUndefined();
    for (const s of body.metrics as MetricSeries[]) expect(Date.parse(s.timestamp)).toBeGreaterThan(0);
  });

  it('counts a backing service failing, by service, and the 5xx it answers', async () => {
    // Intake's write is throttled past the SDK's retries: one failed DynamoDB call, one 503.
    faults.add({ service: 'dynamodb', operation: 'TransactWriteItems', status: 400 });
    try {
      expect((await api(runtime.url, 'POST', '/v1/actions', AGENT, { action: 'data.export' })).status).toBe(503);
    } finally {
      faults.clear();
    }
    const [doc] = publishing('HttpResponses', { Route: 'POST /v1/actions', StatusClass: '5xx' });
    expect(doc).toMatchObject({ Service: 'dynamodb', DependencyFailures: 1, HttpResponses: 1 });
    const { body } = await api(runtime.url, 'GET', '/_local/metrics');
    const series = (name: string, dimensions: Record<string, string>) =>
      (body.metrics as MetricSeries[]).find((s) => s.name === name && JSON.stringify(s.dimensions) === JSON.stringify(dimensions));
    expect(series('DependencyFailures', { Service: 'dynamodb' })).toMatchObject({ sum: 1 });
    expect(series('HttpResponses', { Route: 'POST /v1/actions', StatusClass: '5xx' })).toMatchObject({ sum: 1 });
  });

  it('shows them on a page', async () => {
    const res = await fetch(`${runtime.url}/_local/metrics.html`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<table data-testid="metrics">');
    expect(html).toContain('<th scope="row">NotificationsFailed</th><td>Channel=<b>slack</b></td>');
  });
});
