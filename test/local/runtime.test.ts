/**
 * Local mode end to end, as `npm start` runs it: health, the inbox, the real handlers reaching dynalite and the local
 * Step Functions and KMS endpoints through the SDK, clean stops, restarts that lose nothing, and a waiting execution
 * that survives a restart with its token and its original deadline.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { DescribeExecutionCommand, ListExecutionsCommand, ListStateMachinesCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { api, eventually, failingStart, type RunningCountersign, startCountersign } from './harness';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';
/** Long enough that the restart (about a second, a few under load) and the approval after it finish well before it. */
const SHORT_TIMEOUT_SECONDS = 10;

const config = {
  version: 1,
  groups: { owners: { members: [{ id: 'alice@example.com' }, { id: 'bob@example.com' }] } },
  rules: [
    { name: 'reads', match: { action: '*.read' }, effect: 'allow' },
    { name: 'no-drops', match: { action: 'db.drop*', environment: ['production'] }, effect: 'deny', reason: 'Never automated.' },
    { name: 'short', match: { action: 'test.short' }, effect: 'require_approval', approvers: ['owners'], timeout: `${SHORT_TIMEOUT_SECONDS}s` },
  ],
  default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
  channels: { email: { from: 'countersign@example.com' } },
  local: { apiKeys: { 'agent-key-1': 'arn:aws:iam::000000000000:role/agent', 'alice-key': 'alice@example.com' } },
};

describe('local mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-runtime-'));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'countersign.yaml');
  let running: RunningCountersign;

  beforeAll(async () => {
    writeFileSync(configFile, stringify(config));
    running = await startCountersign({ dataDir, configFile });
  });
  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const requestsTable = async (endpoint: string) => {
    const { TableNames = [] } = await new DynamoDBClient({ endpoint, region, credentials }).send(new ListTablesCommand({}));
    return TableNames.find((t) => t.includes('Requests'))!;
  };
  const storedItem = async (endpoint: string, id: string) => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region, credentials }));
    return (await doc.send(new GetCommand({ TableName: await requestsTable(endpoint), Key: { id } }))).Item;
  };

  it('answers /healthz, prints its URLs, and serves an empty inbox', async () => {
    expect(running.output()).toMatch(/Countersign local mode is up in \d+\.\d s/);
    expect(running.output()).toContain(`inbox      ${running.url}/_local/inbox`);
    const health = await fetch(`${running.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { ok: true }]);
    expect((await api(running.url, 'GET', '/_local/inbox.json')).body).toEqual([]);
    const page = await fetch(`${running.url}/_local/inbox`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('No messages yet.');
  });

  it('creates what the template describes: tables, keys and the state machine', async () => {
    const tables = (await new DynamoDBClient({ endpoint: running.endpoints.dynamodb, region, credentials }).send(new ListTablesCommand({}))).TableNames;
    expect(tables?.some((t) => t.includes('Requests'))).toBe(true);
    expect(tables?.some((t) => t.includes('Ledger'))).toBe(true);
    const kms = new KMSClient({ endpoint: running.endpoints.kms, region, credentials });
    const aliases = (await kms.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName!);
    expect(aliases).toHaveLength(2);
    const signing = aliases.find((a) => a.includes('Ledger'))!;
    expect((await kms.send(new GetPublicKeyCommand({ KeyId: signing }))).KeySpec).toBe('ECC_NIST_P256');
    const machines = await new SFNClient({ endpoint: running.endpoints.sfn, region, credentials }).send(new ListStateMachinesCommand({}));
    expect(machines.stateMachines).toHaveLength(1);
  });

  it('runs the handlers against the local endpoints: a request is stored, its workflow waits and the approvers are told', async () => {
    const created = await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export', resource: 'db:customers' });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'pending', requester: 'arn:aws:iam::000000000000:role/agent', requiredApprovals: 1 });
    const id = created.body.id as string;
    const inbox = await eventually(async () => {
      const list = (await api(running.url, 'GET', '/_local/inbox.json')).body as Array<{ actionId: string; to: string }>;
      const mine = list.filter((m) => m.actionId === id);
      return mine.length === 2 ? mine : undefined;
    });
    expect(inbox.map((m) => m.to).sort()).toEqual(['alice@example.com', 'bob@example.com']);
    // The task token is kept server-side, never in an answer.
    const item = await storedItem(running.endpoints.dynamodb, id);
    expect(item?.taskToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(JSON.stringify((await api(running.url, 'GET', `/v1/actions/${id}`, 'agent-key-1')).body)).not.toContain(item!.taskToken);
  });

  it('answers allow and deny at once, naming the rule, and starts no workflow', async () => {
    const allowed = await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'users.read' });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ status: 'approved', rule: 'reads', decidedBy: 'policy' });
    const denied = await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'db.drop_table', environment: 'production' });
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ status: 'denied', rule: 'no-drops', decidedBy: 'policy', reason: 'Never automated.' });
    expect((await storedItem(running.endpoints.dynamodb, denied.body.id))?.status).toBe('denied');
    await new Promise((r) => setTimeout(r, 300));
    const inbox = (await api(running.url, 'GET', '/_local/inbox.json')).body as Array<{ actionId: string }>;
    expect(inbox.filter((m) => m.actionId === allowed.body.id || m.actionId === denied.body.id)).toEqual([]);
  });

  it('stops cleanly on SIGINT and SIGTERM, and a restart keeps the data, the token and the deadline', async () => {
    const waiting = (await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export' })).body.id as string;
    const short = (await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'test.short' })).body;
    const deadline = Date.parse(short.expiresAt);
    // expiresAt is set when policy decides, a moment before the `requested` record's time is taken.
    expect(Math.abs(deadline - Date.parse(short.createdAt) - SHORT_TIMEOUT_SECONDS * 1000)).toBeLessThan(1000);
    await eventually(async () => (await storedItem(running.endpoints.dynamodb, short.id))?.taskToken);
    const token = (await eventually(async () => (await storedItem(running.endpoints.dynamodb, waiting))?.taskToken)) as string;
    // The token is stored before the approvers are asked: count the inbox once both requests' sends are ledgered.
    for (const id of [waiting, short.id as string]) {
      await eventually(
        async () =>
          ((await api(running.url, 'GET', `/v1/actions/${id}/audit`, 'agent-key-1')).body as Array<{ type: string }>).some((r) => r.type === 'notified') ||
          undefined,
      );
    }
    const inboxBefore = (await api(running.url, 'GET', '/_local/inbox.json')).body.length;

    expect(await running.stop('SIGINT')).toBe(0);
    expect(running.output()).toContain('Stopped.');
    running = await startCountersign({ dataDir, configFile });

    // Everything stored before is still there.
    expect((await api(running.url, 'GET', `/v1/actions/${waiting}`, 'agent-key-1')).body.status).toBe('pending');
    expect((await api(running.url, 'GET', '/_local/inbox.json')).body).toHaveLength(inboxBefore);
    // A bare workflow signal approves nothing: the status comes from the signed ledger.
    const sfn = new SFNClient({ endpoint: running.endpoints.sfn, region, credentials });
    const [execution] = (
      await sfn.send(new ListExecutionsCommand({ stateMachineArn: (await sfn.send(new ListStateMachinesCommand({}))).stateMachines![0]!.stateMachineArn! }))
    ).executions!.filter((e) => e.name === waiting);
    expect(execution?.status).toBe('RUNNING');
    // The approval after the restart uses the token stored before it, and the workflow finishes.
    const approved = (await api(running.url, 'POST', `/v1/actions/${waiting}/decision`, 'alice-key', { decision: 'approve' })).body;
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'approvers' });
    expect((await storedItem(running.endpoints.dynamodb, waiting))?.taskToken).toBe(token);
    const finished = await eventually(async () => {
      const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn: execution!.executionArn! }));
      return status === 'RUNNING' ? undefined : status;
    });
    expect(finished).toBe('SUCCEEDED');
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
    // The short request expires at its original deadline, not a full timeout after the restart.
    expect(Date.now()).toBeLessThan(deadline);
    const expired = await eventually(
      async () => {
        const { body } = await api(running.url, 'GET', `/v1/actions/${short.id}`, 'agent-key-1');
        return body.status === 'expired' ? body : undefined;
      },
      SHORT_TIMEOUT_SECONDS * 1000 + 10_000,
      250,
    );
    expect(expired.decidedBy).toBe('timeout');
    const lateBy = Date.parse(expired.decidedAt) - deadline;
    expect(lateBy).toBeGreaterThanOrEqual(0);
    expect(lateBy).toBeLessThan(3000);

    expect(await running.stop('SIGTERM')).toBe(0);
    running = await startCountersign({ dataDir, configFile });
    expect((await api(running.url, 'GET', `/v1/actions/${short.id}`, 'agent-key-1')).body.status).toBe('expired');
  }, 120_000);

  it('stops cleanly while requests and workflow steps are still running', async () => {
    const burst = Array.from({ length: 24 }, () => api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export' }).catch(() => undefined));
    await new Promise((r) => setTimeout(r, 150));
    expect(await running.stop('SIGTERM')).toBe(0);
    await Promise.all(burst);
    expect(running.output()).toContain('Stopped.');
    expect(running.output()).not.toMatch(/Database is closed|Unhandled|\n\s+at /);
    running = await startCountersign({ dataDir, configFile });
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  }, 60_000);

  it('takes an edited policy without a restart, and keeps the last good one when an edit is invalid', async () => {
    const withReload = { ...config, rules: [{ name: 'reloaded', match: { action: 'test.reload' }, effect: 'allow' }, ...config.rules] };
    expect((await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'test.reload' })).status).toBe(202);
    writeFileSync(configFile, stringify(withReload));
    // The policy ships inside the bundles: the edit takes effect once they are rebuilt, as after a deploy.
    const allowed = await eventually(
      async () => {
        const { status, body } = await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'test.reload' });
        return status === 200 ? body : undefined;
      },
      90_000,
      250,
    );
    expect(allowed).toMatchObject({ status: 'approved', rule: 'reloaded' });
    expect(running.output()).toMatch(/policy reloaded from .* \(version [0-9a-f]{12}\)/);
    writeFileSync(configFile, 'version: 1\nrules: [{ name: broken, match: {}, effect: perhaps }]\n');
    await eventually(async () => (running.output().includes('keeping the last good policy') ? true : undefined), 10_000, 200);
    // The file is polled: a poll between the write's truncate and its data reports the empty file first.
    await eventually(async () => (running.output().includes('rules.0.effect: expected one of allow, deny, require_approval') ? true : undefined), 10_000, 200);
    expect((await api(running.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'test.reload' })).body.rule).toBe('reloaded');
    writeFileSync(configFile, stringify(config));
  }, 150_000);

  it('runs the bundles by default, and the TypeScript sources with COUNTERSIGN_LOCAL_SOURCE=1', async () => {
    expect(running.output()).toMatch(/functions {2}\d+ bundles, (built|cached) in \S+/);
    const sources = await startCountersign({ dataDir: join(dir, 'sources'), configFile, env: { COUNTERSIGN_LOCAL_SOURCE: '1' } });
    try {
      expect(sources.output()).toMatch(/functions {2}\d+ TypeScript sources \(COUNTERSIGN_LOCAL_SOURCE=1\)/);
      const allowed = await api(sources.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'users.read' });
      expect(allowed).toMatchObject({ status: 200, body: { status: 'approved', rule: 'reads' } });
      // The console's chart library, a text import the bundles inline, loads from the sources too.
      const chart = await fetch(`${sources.url}/console/assets/chart.umd.min.js`);
      expect([chart.status, (await chart.text()).includes('Chart.js v4.5.1')]).toEqual([200, true]);
    } finally {
      await sources.stop();
    }
  }, 90_000);

  it('reports a busy port in one line and exits 1', async () => {
    const port = Number(new URL(running.url).port);
    const { code, output } = await failingStart({ dataDir: join(dir, 'other'), configFile, port });
    expect(code).toBe(1);
    expect(output.trim()).toBe(`countersign: port ${port} is already in use; stop what holds it or set PORT to another port`);
  });

  it('refuses a second local mode on the same data folder, naming the pid of the one that holds it', async () => {
    const { code, output } = await failingStart({ dataDir, configFile, port: await freePort() });
    expect(code).toBe(1);
    expect(output.trim().startsWith(`countersign: the data folder ${dataDir} is in use by another local mode (pid ${running.child.pid}, `)).toBe(true);
    expect(output).toContain('stop it, or set COUNTERSIGN_DATA_DIR to another folder');
    expect(output).not.toContain('Database is closed');
    // The first one runs on, undisturbed.
    expect((await api(running.url, 'GET', '/healthz')).body).toEqual({ ok: true });
  });

  it('takes over a lock left by a local mode that ended without releasing it', async () => {
    const staleDir = join(dir, 'stale');
    mkdirSync(staleDir, { recursive: true });
    // A pid that existed and has ended: a process that exits at once.
    const ended = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(ended.stdout.trim());
    expect(deadPid).toBeGreaterThan(0);
    writeFileSync(join(staleDir, 'local.lock'), JSON.stringify({ pid: deadPid, token: 'stale', startedAt: '2026-01-01T00:00:00.000Z' }));
    const taken = await startCountersign({ dataDir: staleDir, configFile });
    try {
      expect(JSON.parse(readFileSync(join(staleDir, 'local.lock'), 'utf8')).pid).toBe(taken.child.pid);
      expect((await api(taken.url, 'GET', '/healthz')).body).toEqual({ ok: true });
    } finally {
      await taken.stop();
    }
    // A clean stop releases the folder.
    expect(existsSync(join(staleDir, 'local.lock'))).toBe(false);
  }, 90_000);

  it('refuses an invalid config, naming each bad field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ ...config, rules: [{ ...config.rules[2], timeout: 'soon', approvers: ['nobody'] }] }));
    const { code, output } = await failingStart({ dataDir: join(dir, 'other'), configFile: bad, port: await freePort() });
    expect(code).toBe(1);
    expect(output).toContain(`countersign: Invalid config ${bad}:`);
    expect(output).toContain('  - rules.0.timeout: expected a duration like 30s, 15m, 1h or 7d');
    expect(output).toContain('  - rules.0.approvers.0: unknown group "nobody"');
    expect(output).not.toMatch(/\n\s+at /);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
