/**
 * A rule's `redeemWithin` end to end against local mode (its own policy: a 3 s redeem window): an approval nobody
 * redeems lapses by itself, through the workflow's Wait and Lapse steps on the local Step Functions (`expired`,
 * reason `not redeemed`, after `approved`), and is refused afterwards as `redemption_lapsed`; one redeemed in time
 * never lapses; a redemption racing the lapse leaves exactly one of them in the chain; `countersign run` exits 8
 * on a lapsed approval; and the ledger verifies. Time passes for real: the tests wait for outcomes with
 * `eventually`, never assert how long anything took.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../fixtures/cli';
import { api, eventually, type RunningCountersign, startCountersign, verifiedChain } from './harness';

const AGENT = 'agent-key';
const AGENT_ROLE = 'arn:aws:iam::000000000000:role/agent';
const WINDOW_MS = 3000;
const CONFIG = `
version: 1
groups:
  owners: { members: [{ id: alice@example.com, email: alice@example.com }] }
rules:
  - { name: deploys, match: { action: "deploy.*" }, effect: require_approval, approvers: [owners], timeout: 1h, redeemWithin: 3s }
default: { effect: deny }
auditors: [audit@example.com]
channels: { email: { from: countersign@example.com } }
local:
  apiKeys: { ${AGENT}: "${AGENT_ROLE}", alice-key: alice@example.com, audit-key: audit@example.com }
`;

let countersign: RunningCountersign;
let dir: string;
let sfn: SFNClient;
let publicKeyPem: string;

type Record = { type: string; at: string; data: { [key: string]: unknown } };
const trail = async (id: string) => (await api(countersign.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body as Record[];
const read = async (id: string) => (await api(countersign.url, 'GET', `/v1/actions/${id}`, AGENT)).body;
const redeem = (id: string, receipt: string) => api(countersign.url, 'POST', `/v1/actions/${id}/redeem`, AGENT, { receipt });

/** A `deploy.*` request approved by alice, as its requester reads it (with the receipt and redeemBy). */
async function approved(resource: string): Promise<{ id: string; receipt: string; redeemBy: string; approvedAt: string }> {
  const asked = await api(countersign.url, 'POST', '/v1/actions', AGENT, { action: 'deploy.apply', resource });
  expect(asked.status).toBe(202);
  const id = asked.body.id as string;
  expect((await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve' })).body.status).toBe('approved');
  const view = await read(id);
  expect(view).toMatchObject({ status: 'approved', receipt: expect.any(String), redeemBy: expect.any(String) });
  return { id, receipt: view.receipt, redeemBy: view.redeemBy, approvedAt: view.decidedAt };
}

/** The request's workflow execution, once it has ended (the execution name derives from the request id). */
async function endedExecution(id: string) {
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  return eventually(async () => {
    const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stateMachines[0]!.stateMachineArn }));
    const execution = executions.find((e) => e.name?.includes(id.slice(4, 20)));
    if (!execution) return undefined;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    return described.status === 'RUNNING' ? undefined : described;
  }, 30_000);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-redeem-within-'));
  const configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, CONFIG);
  countersign = await startCountersign({ dataDir: join(dir, 'data'), configFile, env: { COUNTERSIGN_LOCAL_RETRY_SCALE: '0.1' } });
  sfn = new SFNClient({
    endpoint: countersign.endpoints.sfn,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  publicKeyPem = await (await fetch(`${countersign.url}/v1/audit/public-key`, { headers: { authorization: `Bearer ${AGENT}` } })).text();
}, 120_000);

afterAll(async () => {
  await countersign?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('redeemWithin', () => {
  it('an approval nobody redeems lapses by itself: expired, not redeemed; its receipt expires then; a late redemption is 409 redemption_lapsed', async () => {
    const { id, receipt, redeemBy, approvedAt } = await approved('lapses');
    expect(Date.parse(redeemBy)).toBe(Date.parse(approvedAt) + WINDOW_MS);
    const claims = JSON.parse(Buffer.from(receipt.split('.')[1]!, 'base64url').toString());
    // The deadline as of the approval the receipt was signed beside (its record may be re-stamped a moment later).
    expect(claims.exp).toBeLessThanOrEqual(Math.ceil(Date.parse(redeemBy) / 1000));
    expect(claims.exp).toBeGreaterThan(Math.ceil(Date.parse(redeemBy) / 1000) - 10);
    // Nobody calls redeem: the workflow's Wait ends at the deadline and its Lapse step records the lapse.
    const execution = await endedExecution(id);
    expect(execution.status).toBe('SUCCEEDED');
    const records = await trail(id);
    expect(records.map((r) => r.type).filter((t) => t !== 'notified')).toEqual(['requested', 'policy_decided', 'voted', 'approved', 'expired']);
    expect(records.at(-1)).toMatchObject({ type: 'expired', data: { decidedBy: 'timeout', reason: 'not redeemed' } });
    expect(Date.parse(records.at(-1)!.at)).toBeGreaterThanOrEqual(Date.parse(redeemBy));
    // Everyone reads it expired, with when it lapsed; the requester no longer gets a receipt.
    for (const key of [AGENT, 'alice-key', 'audit-key']) {
      const view = (await api(countersign.url, 'GET', `/v1/actions/${id}`, key)).body;
      expect(view).toMatchObject({ status: 'expired', decidedBy: 'approvers', reason: 'not redeemed', lapsedAt: records.at(-1)!.at });
      expect(view).not.toHaveProperty('receipt');
    }
    const late = await redeem(id, receipt);
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'redemption_lapsed', details: [{ path: 'lapsedAt', message: records.at(-1)!.at }] } } });
    expect((await trail(id)).length).toBe(records.length);
    const shown = await runCliInProcess(['status', id], { env: { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: AGENT } });
    expect(shown.stdout).toMatch(new RegExp(`^${id} expired\\n`));
    expect(shown.stdout).toContain('approved, but not redeemed in time');
    const story = await runCliInProcess(['audit', 'show', id], { env: { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: 'audit-key' } });
    expect(story.stdout).toContain('Lapsed: approved, but not redeemed in time.');
    expect((await verifiedChain(countersign.url, id, AGENT, publicKeyPem)).ok).toBe(true);
  }, 60_000);

  it('an approval redeemed in time never lapses: the window passes and the chain ends with executed', async () => {
    const { id, receipt } = await approved('redeemed-in-time');
    expect((await redeem(id, receipt)).status).toBe(200);
    const execution = await endedExecution(id);
    expect(execution.status).toBe('SUCCEEDED');
    const records = await trail(id);
    // (`notified` may land after the approval: alice approves before the notifier records what it sent.)
    expect(records.map((r) => r.type).filter((t) => t !== 'notified')).toEqual(['requested', 'policy_decided', 'voted', 'approved', 'executed']);
    expect(await read(id)).toMatchObject({ status: 'approved', redeemedBy: AGENT_ROLE });
    expect(await read(id)).not.toHaveProperty('redeemBy');
  }, 60_000);

  it('a redemption racing the lapse: the chain holds exactly one of executed or the lapse, and the answers agree with it', async () => {
    const { id, receipt, redeemBy } = await approved('race');
    // Redeem again and again from just before the deadline until just after it (the executor is late).
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(redeemBy) - Date.now() - 300)));
    const answers: number[] = [];
    const until = Date.parse(redeemBy) + 500;
    const attempts: Array<Promise<void>> = [];
    while (Date.now() < until) {
      attempts.push(redeem(id, receipt).then((a) => void answers.push(a.status)));
      await new Promise((r) => setTimeout(r, 40));
    }
    await Promise.all(attempts);
    await endedExecution(id);
    const records = await trail(id);
    const executed = records.filter((r) => r.type === 'executed');
    const lapses = records.filter((r) => r.type === 'expired');
    expect(executed.length + lapses.length, JSON.stringify(records.map((r) => r.type))).toBe(1);
    expect(answers.filter((s) => s === 200)).toHaveLength(executed.length);
    expect(answers.every((s) => s === 200 || s === 409 || s === 400)).toBe(true);
    expect((await read(id)).status).toBe(executed.length ? 'approved' : 'expired');
    expect((await verifiedChain(countersign.url, id, AGENT, publicKeyPem)).ok).toBe(true);
  }, 60_000);

  it('countersign run picks up a lapsed approval by its Idempotency-Key, runs nothing and exits 8', async () => {
    const env = { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: AGENT };
    // Still pending at --timeout (exit 7); approved later, and the run with the same key comes back after the window.
    const key = `lapse-${Date.now()}`;
    const args = ['run', '--action', 'deploy.apply', '--resource', 'run-lapsed-key', '--idempotency-key', key, '--timeout', '1s', '--', 'true'];
    const first = await runCliInProcess(args, { env });
    expect(first.code).toBe(7);
    const keyed = /(act_[A-Za-z0-9_-]+)/.exec(first.stderr)![1]!;
    await api(countersign.url, 'POST', `/v1/actions/${keyed}/decision`, 'alice-key', { decision: 'approve' });
    await eventually(async () => ((await read(keyed)).status === 'expired' ? true : undefined), 30_000);
    const again = await runCliInProcess(args, { env });
    expect(again.code).toBe(8);
    expect(again.stderr).toContain(`${keyed} lapsed: it was approved but not redeemed in time`);
  }, 60_000);

  it('leaves a ledger that `countersign audit verify` accepts', async () => {
    const { stdout, stderr, code } = await runCliInProcess(['audit', 'verify'], {
      env: { COUNTERSIGN_URL: countersign.url, COUNTERSIGN_API_KEY: 'audit-key' },
    });
    expect(stdout + stderr).toMatch(/ledger: OK/);
    expect(code).toBe(0);
  }, 60_000);
});
