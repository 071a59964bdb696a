/**
 * The MCP approval gateway end to end: `countersign mcp --upstream ...` as an MCP client spawns it, in front of the
 * fixture upstream, against local mode. Policy lets echo through at once; delete_branch waits for alice, who
 * approves one call (it is redeemed, then reaches the upstream) and denies the next (it never does). A replayed
 * approved call (a gateway whose asks land on one request) reaches the upstream once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Countersign } from '../../client/index';
import type { Approvals } from '../../mcp/approvals';
import { createApprovalGateway } from '../../mcp/gateway';
import { api, eventually, ROOT, type RunningCountersign, startCountersign } from './harness';

const AGENT_KEY = 'mcp-agent-key';
const config = {
  version: 1,
  groups: { owners: { members: [{ id: 'alice@example.com', email: 'alice@example.com' }] } },
  rules: [
    { name: 'mcp-echo', match: { action: 'mcp.upstream.echo' }, effect: 'allow' },
    { name: 'mcp-calls', match: { action: 'mcp.upstream.calls' }, effect: 'allow' },
    {
      name: 'mcp-branches',
      match: { action: 'mcp.upstream.delete_branch' },
      effect: 'require_approval',
      approvers: ['owners'],
      minApprovals: 1,
      timeout: '1h',
    },
  ],
  default: { effect: 'deny', reason: 'Not an MCP tool this test allows.' },
  auditors: ['audit@example.com'],
  channels: { email: { from: 'countersign@example.com' } },
  local: { apiKeys: { [AGENT_KEY]: 'arn:aws:iam::000000000000:role/mcp-agent', 'alice-key': 'alice@example.com', 'audit-key': 'audit@example.com' } },
};

/**
 * How the MCP client starts the gateway: the installed bin, as a child process on purpose (not the CLI's main in this
 * process): an MCP client starts its servers as processes and speaks to them over their stdin and stdout, and the
 * gateway ends when its stdin closes or on a signal.
 */
const GATEWAY = [join(ROOT, 'cli/countersign.mjs'), 'mcp'];

interface InboxMessage {
  actionId: string;
  to: string;
}

describe('MCP approval gateway against local mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-mcp-'));
  const configFile = join(dir, 'countersign.yaml');
  let cs: RunningCountersign;
  let transport: StdioClientTransport;
  let client: Client;
  let stderr = '';
  const clientErrors: Error[] = [];

  beforeAll(async () => {
    writeFileSync(configFile, stringify(config));
    cs = await startCountersign({ dataDir: join(dir, 'data'), configFile });
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [...GATEWAY, '--upstream', 'node --import tsx test/fixtures/mcp-upstream.ts', '--name', 'upstream', '--timeout', '60'],
      cwd: ROOT,
      env: { COUNTERSIGN_URL: cs.url, COUNTERSIGN_API_KEY: AGENT_KEY, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    client = new Client({ name: 'e2e-agent', version: '1.0.0' });
    client.onerror = (e) => clientErrors.push(e);
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  const inbox = async () => (await api(cs.url, 'GET', '/_local/inbox.json')).body as InboxMessage[];
  /** The id of the first request alice is asked about that is not in `known`. */
  const nextRequestFor = (known: Set<string>) =>
    eventually(async () => (await inbox()).find((m) => m.to === 'alice@example.com' && !known.has(m.actionId))?.actionId);

  it("lists the upstream's tools", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['echo', 'delete_branch', 'Get.File', 'calls', 'enable_extra']);
  });

  it('a tool the policy allows passes at once', async () => {
    const started = Date.now();
    const result = await call('echo', { text: 'hello through the gateway' });
    expect(result).toEqual({ content: [{ type: 'text', text: 'hello through the gateway' }] });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a tool that needs approval waits for alice; once she approves, the upstream runs it', async () => {
    const known = new Set((await inbox()).map((m) => m.actionId));
    const pending = call('delete_branch', { branch: 'feature-x' });
    const id = await nextRequestFor(known);
    const asked = await api(cs.url, 'GET', `/v1/actions/${id}`, 'alice-key');
    expect(asked.body).toMatchObject({
      status: 'pending',
      action: 'mcp.upstream.delete_branch',
      resource: 'mcp://upstream/delete_branch',
      requester: 'arn:aws:iam::000000000000:role/mcp-agent',
    });
    const audit = await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key');
    expect(audit.body[0]).toMatchObject({
      type: 'requested',
      data: expect.objectContaining({
        request: { action: 'mcp.upstream.delete_branch', resource: 'mcp://upstream/delete_branch', parameters: { branch: 'feature-x' } },
      }),
    });

    const decided = await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve', reason: 'merged already' });
    expect(decided.body.status).toBe('approved');
    const result = await pending;
    expect(result).toEqual({ content: [{ type: 'text', text: 'deleted feature-x' }], _meta: { 'example.com/upstream': 'kept' } });
    // The gateway redeemed the approval before forwarding, for exactly the arguments it forwarded.
    const after = (await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body as Array<{ type: string; data: Record<string, unknown> }>;
    expect(after.filter((r) => r.type === 'executed')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ redeemer: 'arn:aws:iam::000000000000:role/mcp-agent' }) }),
    ]);
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT_KEY)).body).toMatchObject({ status: 'approved', redeemedAt: expect.any(String) });
  });

  it('a replayed approved call reaches the upstream once: the second is refused as already redeemed', async () => {
    // A gateway whose every ask carries one Idempotency-Key: a replay lands on the same approved request.
    const agent = new Countersign({ url: cs.url, apiKey: AGENT_KEY });
    const key = `replayed-${Date.now()}`;
    const replaying: Approvals = {
      requestApproval: (request, options) => agent.requestApproval(request, { ...options, idempotencyKey: key }),
      getStatus: (id, options) => agent.getStatus(id, options),
      redeem: (id, receipt, options) => agent.redeem(id, receipt, options),
    };
    const gateway = await createApprovalGateway({
      approvals: replaying,
      upstream: { command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/mcp-upstream.ts'], cwd: ROOT, stderr: 'ignore' },
      serverName: 'upstream',
      timeoutMs: 30_000,
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const replayer = new Client({ name: 'replaying-agent', version: '1.0.0' });
    try {
      await Promise.all([gateway.connect(serverSide), replayer.connect(clientSide)]);
      const echo = async () => (await replayer.callTool({ name: 'echo', arguments: { text: 'only once' } })) as CallToolResult;
      expect(await echo()).toEqual({ content: [{ type: 'text', text: 'only once' }] });
      const replayed = await echo();
      expect(replayed.isError).toBe(true);
      expect(text(replayed)).toMatch(
        /^Countersign refused to redeem the approval of mcp\.upstream\.echo \(already_redeemed: the approval was already redeemed at \S+ by arn:aws:iam::000000000000:role\/mcp-agent\) \(request act_[A-Za-z0-9_-]+\)\. The call was not made\.$/,
      );
      const counted = (await gateway.upstream.request({ method: 'tools/call', params: { name: 'calls' } }, CallToolResultSchema)) as CallToolResult;
      expect(counted.structuredContent).toEqual({ total: 1, byTool: { echo: 1 } });
      const id = /request (act_[A-Za-z0-9_-]+)/.exec(text(replayed))![1]!;
      const trail = (await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body as Array<{ type: string }>;
      expect(trail.map((r) => r.type)).toEqual(['requested', 'policy_decided', 'approved', 'executed']);
    } finally {
      await replayer.close();
      await gateway.close();
    }
  });

  it('a call alice denies comes back as a tool error with her reason, and never reaches the upstream', async () => {
    const known = new Set((await inbox()).map((m) => m.actionId));
    const pending = call('delete_branch', { branch: 'main' });
    const id = await nextRequestFor(known);
    await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'deny', reason: 'main is protected' });
    const result = await pending;
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(`Countersign denied mcp.upstream.delete_branch: main is protected (request ${id}). The call was not made.`);

    const calls = await call('calls');
    expect(calls.structuredContent).toEqual({ total: 2, byTool: { echo: 1, delete_branch: 1 } });
  });

  it('a tool the policy does not allow is refused at once', async () => {
    const result = await call('Get.File', { path: '/etc/passwd' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Countersign denied mcp\.upstream\.get_file: Not an MCP tool this test allows\. \(request act_[A-Za-z0-9_-]+\)/);
    expect(clientErrors).toEqual([]);
  });

  it('closing the client ends the gateway and its upstream', async () => {
    const pid = transport.pid!;
    await client.close();
    await expect
      .poll(
        () => {
          try {
            process.kill(pid, 0);
            return 'alive';
          } catch {
            return 'gone';
          }
        },
        { timeout: 10_000 },
      )
      .toBe('gone');
    expect(stderr).toContain('gateway ready');
  });
});
