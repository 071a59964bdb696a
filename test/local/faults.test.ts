/**
 * Faults injected into local mode's DynamoDB, KMS and Step Functions endpoints and a channel: for each, the agent
 * gets a clear answer or a retryable error, nothing stays half-done once the repair job has run, no request stays
 * pending past its timeout, and the ledger verifies afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../fixtures/cli';
import { api, eventually, type RunningCountersign, startCountersign } from './harness';

const CONFIG = `
version: 1
groups:
  owners: { members: [{ id: alice@example.com, email: alice@example.com }, { id: bob@example.com, email: bob@example.com }] }
rules:
  - { name: reads, match: { action: "*.read" }, effect: allow }
  - { name: quick, match: { action: "quick.*" }, effect: require_approval, approvers: [owners], timeout: 4s }
default: { effect: require_approval, approvers: [owners], minApprovals: 2, timeout: 1h }
auditors: [audit@example.com]
channels: { email: { from: countersign@example.com } }
local:
  apiKeys: { agent-key: "arn:aws:iam::000000000000:role/agent", alice-key: alice@example.com, bob-key: bob@example.com, audit-key: audit@example.com }
`;

let countersign: RunningCountersign;
let dir: string;
let sfn: SFNClient;

const fault = async (rule: object) => expect((await api(countersign.url, 'POST', '/_local/faults', undefined, rule)).status).toBe(201);
const ask = (body: object, key?: string) =>
  fetch(`${countersign.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: 'Bearer agent-key', 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any }));
const audit = async (id: string) => (await api(countersign.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body as Array<{ type: string; data: any }>;
const status = async (id: string) => (await api(countersign.url, 'GET', `/v1/actions/${id}`, 'agent-key')).body.status as string;
const repair = async () => {
  const { body } = await api(countersign.url, 'POST', '/_local/schedules/run');
  expect((body.ran as Array<{ ok: boolean }>).every((r) => r.ok)).toBe(true);
};
/** The workflow executions of a request (the execution name derives from its id). */
async function executionsOf(id: string) {
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stateMachines[0]!.stateMachineArn }));
  return executions.filter((e) => e.name?.includes(id.slice(4, 20)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-faults-'));
  const configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, CONFIG);
  // The workflow's retries back off a tenth as long (2 s, 4 s, 8 s become 0.2 s, 0.4 s, 0.8 s); deadlines keep real time.
  countersign = await startCountersign({
    dataDir: join(dir, 'data'),
    configFile,
    env: { COUNTERSIGN_FAULT_INJECTION: '1', COUNTERSIGN_LOCAL_RETRY_SCALE: '0.1' },
  });
  sfn = new SFNClient({ endpoint: countersign.endpoints.sfn, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
}, 60_000);

afterEach(async () => {
  await api(countersign.url, 'DELETE', '/_local/faults');
});

afterAll(async () => {
  sfn?.destroy();
  await countersign?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('fault injection', () => {
  it('absorbs brief DynamoDB throttling, and answers a retryable 503 with nothing recorded when it persists', async () => {
    await fault({ service: 'dynamodb', operation: 'PutItem', status: 400, times: 2 });
    expect((await ask({ action: 'reports.read' })).status).toBe(200);

    await fault({ service: 'dynamodb', operation: 'PutItem', status: 400 });
    const refused = await ask({ action: 'reports.read', resource: 'throttled' }, 'throttled-1');
    expect(refused).toMatchObject({ status: 503, retryAfter: '1', body: { error: { code: 'unavailable' } } });
    await api(countersign.url, 'DELETE', '/_local/faults');
    // The retry with the same key completes the one request.
    const retried = await ask({ action: 'reports.read', resource: 'throttled' }, 'throttled-1');
    expect(retried).toMatchObject({ status: 200, body: { status: 'approved' } });
    expect((await audit(retried.body.id)).filter((r) => r.type === 'requested')).toHaveLength(1);
  });

  it('answers 503 while KMS cannot sign a receipt, and signs nothing half', async () => {
    // Records are signed by the intake environment's certified key (certified before this, by the requests above);
    // an approval at once needs its receipt signed by KMS, in the same call as the records are written.
    await fault({ service: 'kms', operation: 'Sign', status: 500, error: 'KMSInternalException' });
    const refused = await ask({ action: 'reports.read', resource: 'kms-down' }, 'kms-1');
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    await api(countersign.url, 'DELETE', '/_local/faults');
    const retried = await ask({ action: 'reports.read', resource: 'kms-down' }, 'kms-1');
    expect(retried).toMatchObject({ status: 200, body: { status: 'approved', receipt: expect.any(String) } });
    expect((await audit(retried.body.id)).map((r) => r.type)).toEqual(['requested', 'policy_decided', 'approved']);
  });

  it('starts the workflow from the repair job when StartExecution failed after the request was stored', async () => {
    await fault({ service: 'sfn', operation: 'StartExecution', status: 500 });
    const refused = await ask({ action: 'data.export', resource: 'sfn-down' });
    expect(refused.status).toBe(503);
    await api(countersign.url, 'DELETE', '/_local/faults');
    // The agent never retries. The request was stored, so an auditor can find it pending with no workflow yet.
    const exported = (await api(countersign.url, 'GET', '/v1/audit/export', 'audit-key')).body.items as Array<{ requestId: string; type: string; data: any }>;
    const id = exported.find((r) => r.type === 'requested' && r.data.request.resource === 'sfn-down')!.requestId;
    expect(await status(id)).toBe('pending');
    expect(await executionsOf(id)).toEqual([]);
    await new Promise((r) => setTimeout(r, 2100)); // the repair job leaves requests younger than 2 s to their intake
    await repair();
    expect(await executionsOf(id)).toHaveLength(1);
    // The workflow runs: the approvers are asked and can decide.
    await eventually(async () => ((await audit(id)).some((r) => r.type === 'notified') ? true : undefined));
    for (const key of ['alice-key', 'bob-key']) await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, key, { decision: 'approve' });
    expect(await status(id)).toBe('approved');
  }, 30_000);

  it('expires a request whose workflow failed to start, at its timeout', async () => {
    await fault({ service: 'sfn', operation: 'StartExecution', status: 500 });
    const refused = await ask({ action: 'quick.fix', resource: 'never-started' });
    expect(refused.status).toBe(503);
    await api(countersign.url, 'DELETE', '/_local/faults');
    const exported = (await api(countersign.url, 'GET', '/v1/audit/export', 'audit-key')).body.items as Array<{ requestId: string; type: string; data: any }>;
    const id = exported.find((r) => r.type === 'requested' && r.data.request.resource === 'never-started')!.requestId;
    await new Promise((r) => setTimeout(r, 2100));
    await repair();
    // Started late, the workflow still ends at the original deadline (4 s after the request).
    expect(await eventually(async () => ((await status(id)) === 'expired' ? 'expired' : undefined), 20_000)).toBe('expired');
  }, 30_000);

  it('completes an approval whose SendTaskSuccess failed after the vote was recorded', async () => {
    const created = await ask({ action: 'data.export', resource: 'decision-dies' });
    const id = created.body.id as string;
    await eventually(async () => ((await audit(id)).some((r) => r.type === 'notified') ? true : undefined));
    const waiting = async (key: string) => ((await api(countersign.url, 'GET', '/v1/me/pending', key)).body.items as Array<{ id: string }>).map((v) => v.id);
    expect(await waiting('alice-key')).toContain(id);
    await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve' });
    expect(await waiting('alice-key')).not.toContain(id);
    expect(await waiting('bob-key')).toContain(id);
    await fault({ service: 'sfn', operation: 'SendTaskSuccess', status: 500 });
    const second = await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, 'bob-key', { decision: 'approve' });
    expect(second).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    // The item still says pending; the list goes by the chain, where it is settled.
    expect(await waiting('bob-key')).not.toContain(id);
    // The vote and the outcome are recorded: the agent already sees the approval, with its receipt.
    const view = (await api(countersign.url, 'GET', `/v1/actions/${id}`, 'agent-key')).body;
    expect(view).toMatchObject({ status: 'approved' });
    expect(view.receipt).toMatch(/^eyJ/);
    const [execution] = await executionsOf(id);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: execution!.executionArn }))).status).toBe('RUNNING');
    await api(countersign.url, 'DELETE', '/_local/faults');
    await new Promise((r) => setTimeout(r, 2100));
    await repair();
    await eventually(async () =>
      (await sfn.send(new DescribeExecutionCommand({ executionArn: execution!.executionArn }))).status === 'SUCCEEDED' ? true : undefined,
    );
    // Bob's retried vote is idempotent.
    expect((await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, 'bob-key', { decision: 'approve' })).status).toBe(200);
  }, 30_000);

  it('fails closed when no approver can be reached: the request expires, saying why', async () => {
    await fault({ service: 'email', status: 503 });
    const created = await ask({ action: 'data.export', resource: 'mail-down' });
    const id = created.body.id as string;
    const records = await eventually(async () => {
      const all = await audit(id);
      return all.some((r) => r.type === 'expired') ? all : undefined;
    }, 25_000);
    // Long before its one-hour timeout: nobody could approve it.
    expect(records.at(-1)).toMatchObject({ type: 'expired', data: { decidedBy: 'timeout', reason: 'The approvers could not be notified.' } });
    expect(await status(id)).toBe('expired');
  }, 30_000);

  it('leaves a ledger that verifies', async () => {
    await new Promise((r) => setTimeout(r, 4500));
    await repair();
    const { stdout, stderr } = await runCliInProcess(['audit', 'verify'], { env: { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: 'audit-key' } });
    expect(stdout + stderr).toMatch(/ledger: OK/);
  }, 30_000);

  it('refuses a malformed fault rule', async () => {
    expect((await api(countersign.url, 'POST', '/_local/faults', undefined, { service: 'dynamo', status: 200 })).status).toBe(400);
    expect((await api(countersign.url, 'GET', '/_local/faults')).body).toEqual({ rules: [] });
  });
});
