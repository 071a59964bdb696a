/**
 * The MCP side with a fake Approvals: the approval server over the SDK's in-memory transport, and the approval
 * gateway in front of the fixture upstream (test/fixtures/mcp-upstream.ts, a real child process on stdio).
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, CallToolResultSchema, type Tool, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../cli/mcp';
import { ApprovalDeadlineError, Countersign, CountersignApiError } from '../../client/index';
import { ACTION_PATTERN, type ActionRequest, type ActionView } from '../../lambdas/core/request';
import type { ApprovalOutcome, Approvals } from '../../mcp/approvals';
import { type ApprovalGateway, actionName, createApprovalGateway } from '../../mcp/gateway';
import { type ApprovalServerOptions, createApprovalServer } from '../../mcp/server';

const ROOT = join(import.meta.dirname, '../..');
const UPSTREAM = { command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/mcp-upstream.ts'], cwd: ROOT };

// The real client satisfies the interface the MCP side is written against.
const _structural: Approvals = new Countersign({ url: 'http://127.0.0.1:1', apiKey: 'unused' });
void _structural;

function view(overrides: Partial<ActionView> = {}): ActionView {
  return {
    id: 'act_1',
    status: 'pending',
    action: 'db.migrate',
    requester: 'agent',
    requiredApprovals: 1,
    votes: [],
    createdAt: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

function outcome(status: ApprovalOutcome['status'], overrides: Partial<ActionView> & { receipt?: string; reason?: string } = {}): ApprovalOutcome {
  const v = view({ status, ...overrides });
  return { status, id: v.id, view: v, ...(overrides.receipt ? { receipt: overrides.receipt } : {}), ...(overrides.reason ? { reason: overrides.reason } : {}) };
}

type Answer = (request: ActionRequest) => Promise<ApprovalOutcome>;

/** Records what it is asked; answers with `answer` (approve by default). */
class FakeApprovals implements Approvals {
  asked: Array<{ request: ActionRequest; options: { timeoutMs?: number; signal?: AbortSignal; idempotencyKey?: string } | undefined }> = [];
  statusAsked: Array<{ id: string; waitSeconds: number | undefined }> = [];
  answer: Answer = async (r) => outcome('approved', { action: r.action, decidedBy: 'policy', rule: 'allow-all', receipt: 'h.p.s' });
  status: (id: string) => Promise<ActionView> = async (id) => view({ id });
  redeemed: Array<{ id: string; receipt: string; parameters: unknown }> = [];
  redemption: (id: string) => Promise<{ redeemedAt: string; redeemedBy: string }> = async () => ({ redeemedAt: '2025-01-01T00:00:01Z', redeemedBy: 'agent' });

  requestApproval(request: ActionRequest, options?: { timeoutMs?: number; signal?: AbortSignal; idempotencyKey?: string }): Promise<ApprovalOutcome> {
    this.asked.push({ request, options });
    return this.answer(request);
  }
  getStatus(id: string, options?: { waitSeconds?: number; signal?: AbortSignal }): Promise<ActionView> {
    this.statusAsked.push({ id, waitSeconds: options?.waitSeconds });
    return this.status(id);
  }
  redeem(id: string, receipt: string, options?: { parameters?: unknown }): Promise<{ redeemedAt: string; redeemedBy: string }> {
    this.redeemed.push({ id, receipt, parameters: options?.parameters });
    return this.redemption(id);
  }
}

const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('splitCommandLine', () => {
  it('splits like a shell: quotes, escapes, no expansion', () => {
    expect(splitCommandLine('node --import tsx test/fixtures/mcp-upstream.ts')).toEqual(['node', '--import', 'tsx', 'test/fixtures/mcp-upstream.ts']);
    expect(splitCommandLine(`  npx -y "some server" 'a "b" $HOME' c\\ d "e\\"f" g''h `)).toEqual([
      'npx',
      '-y',
      'some server',
      'a "b" $HOME',
      'c d',
      'e"f',
      'gh',
    ]);
    expect(splitCommandLine(`run "" ''`)).toEqual(['run', '', '']);
    expect(splitCommandLine('a|b; rm -rf * > out')).toEqual(['a|b;', 'rm', '-rf', '*', '>', 'out']);
    expect(splitCommandLine('')).toEqual([]);
    expect(() => splitCommandLine('a "b')).toThrow(/unterminated double quote/);
    expect(() => splitCommandLine("a 'b")).toThrow(/unterminated single quote/);
  });
});

describe('actionName', () => {
  it('is mcp.<server>.<tool>, lower-cased, other characters (dots too) replaced by _', () => {
    expect(actionName('git-server', 'delete_branch')).toBe('mcp.git-server.delete_branch');
    expect(actionName('Git Server', 'Delete.Branch')).toBe('mcp.git_server.delete_branch');
    expect(actionName('github', 'repos/create issue✓')).toBe('mcp.github.repos_create_issue_');
    expect(actionName('a:b', 'x-y:z')).toBe('mcp.a:b.x-y:z');
  });

  it('keeps to 128 characters, and long names stay distinct', () => {
    const a = actionName('github', `${'x'.repeat(200)}a`);
    const b = actionName('github', `${'x'.repeat(200)}b`);
    expect(a).toHaveLength(128);
    expect(a).toMatch(ACTION_PATTERN);
    expect(a).not.toBe(b);
    expect(() => actionName('', 'x')).toThrow(/empty/);
    expect(() => actionName('s'.repeat(49), 'x')).toThrow(/longer than 48/);
  });
});

describe('approval server', () => {
  let approvals: FakeApprovals;
  let client: Client;

  async function connect(options: ApprovalServerOptions = {}) {
    approvals = new FakeApprovals();
    const server = createApprovalServer(approvals, options);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'test-agent', version: '1.0.0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  }
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;

  beforeEach(() => connect());

  it('lists request_approval and get_approval_status with their schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['request_approval', 'get_approval_status']);
    const [ask, status] = tools as [Tool, Tool];
    expect(ask.inputSchema.required).toEqual(['action']);
    expect(Object.keys(ask.inputSchema.properties!).sort()).toEqual([
      'action',
      'environment',
      'justification',
      'onBehalfOf',
      'parameters',
      'resource',
      'timeoutSeconds',
    ]);
    expect(ask.inputSchema.properties!.action).toMatchObject({ type: 'string', pattern: ACTION_PATTERN.source });
    expect(ask.inputSchema.properties!.timeoutSeconds).toMatchObject({ type: 'integer', default: 300, maximum: 3600 });
    expect(ask.inputSchema.properties!.parameters).toMatchObject({ type: 'object' });
    expect(ask.outputSchema?.properties).toHaveProperty('status');
    expect(status.inputSchema.required).toEqual(['id']);
    expect(status.inputSchema.properties!.waitSeconds).toMatchObject({ type: 'integer', minimum: 0, maximum: 20 });
    expect(status.annotations?.readOnlyHint).toBe(true);
  });

  it('approved: asks with every field, the client name as agent, the deadline; answers the id and receipt', async () => {
    approvals.answer = async () =>
      outcome('approved', {
        id: 'act_ok',
        action: 'db.migrate',
        decidedBy: 'approvers',
        votes: [{ approver: 'alice@example.com', decision: 'approve', at: 'now' }],
        receipt: 'aaa.bbb.ccc',
      });
    const result = await call('request_approval', {
      action: 'db.migrate',
      resource: 'arn:aws:rds:eu-west-1:123:db:orders',
      environment: 'production',
      parameters: { version: 42 },
      justification: 'schema change',
      onBehalfOf: 'carol@example.com',
      timeoutSeconds: 5,
    });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toMatch(/^approved: act_ok by alice@example\.com/);
    expect(text(result)).toContain('receipt: aaa.bbb.ccc');
    expect(result.structuredContent).toEqual({ status: 'approved', id: 'act_ok', receipt: 'aaa.bbb.ccc' });
    expect(approvals.asked).toHaveLength(1);
    expect(approvals.asked[0]!.request).toEqual({
      action: 'db.migrate',
      resource: 'arn:aws:rds:eu-west-1:123:db:orders',
      environment: 'production',
      parameters: { version: 42 },
      justification: 'schema change',
      onBehalfOf: 'carol@example.com',
      agent: { name: 'test-agent' },
    });
    expect(approvals.asked[0]!.options?.timeoutMs).toBe(5000);
    expect(approvals.asked[0]!.options?.signal).toBeInstanceOf(AbortSignal);
  });

  it('waits 300 s by default; a configured agent name wins over the client name', async () => {
    await connect({ agent: { name: 'deploy-bot', model: 'some-llm' } });
    await call('request_approval', { action: 'infra.apply' });
    expect(approvals.asked[0]!.request).toEqual({ action: 'infra.apply', agent: { name: 'deploy-bot', model: 'some-llm' } });
    expect(approvals.asked[0]!.options?.timeoutMs).toBe(300_000);
  });

  it('denied, expired and cancelled are answers, not errors', async () => {
    approvals.answer = async () => outcome('denied', { id: 'act_no', reason: 'Not on Fridays', decidedBy: 'approvers' });
    let result = await call('request_approval', { action: 'db.migrate' });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toMatch(/^denied: Not on Fridays \(request act_no\)/);
    expect(result.structuredContent).toEqual({ status: 'denied', id: 'act_no', reason: 'Not on Fridays' });

    approvals.answer = async () => outcome('expired', { id: 'act_late', decidedBy: 'timeout' });
    result = await call('request_approval', { action: 'db.migrate' });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toMatch(/^expired: .*act_late/);
    expect(result.structuredContent).toEqual({ status: 'expired', id: 'act_late' });

    approvals.answer = async () => outcome('cancelled', { id: 'act_gone', decidedBy: 'requester' });
    result = await call('request_approval', { action: 'db.migrate' });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toMatch(/^cancelled: act_gone/);
    expect(result.structuredContent).toEqual({ status: 'cancelled', id: 'act_gone' });
  });

  it('still pending at the deadline: the id and what to call next', async () => {
    approvals.answer = async () => {
      throw new ApprovalDeadlineError('act_wait', view({ id: 'act_wait', missing: ['1 more from data-owners'] }));
    };
    const result = await call('request_approval', { action: 'db.migrate', timeoutSeconds: 0 });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toMatch(/^still pending at the deadline: act_wait; call get_approval_status/);
    expect(result.structuredContent).toEqual({ status: 'pending', id: 'act_wait' });
    expect(approvals.asked[0]!.options?.timeoutMs).toBe(0);
  });

  it('API errors are tool errors with the code, message and details', async () => {
    approvals.answer = async () => {
      throw new CountersignApiError(400, 'invalid_request', 'the request does not fit the schema', [{ path: ['parameters'], message: 'too large' }]);
    };
    let result = await call('request_approval', { action: 'db.migrate' });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('Countersign API error invalid_request: the request does not fit the schema (HTTP 400)');
    expect(text(result)).toContain('- parameters: too large');

    approvals.answer = async () => {
      throw new CountersignApiError(0, 'network_error', 'cannot reach http://127.0.0.1:8787: ECONNREFUSED');
    };
    result = await call('request_approval', { action: 'db.migrate' });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('network_error: cannot reach');
  });

  it('rejects a bad action before asking', async () => {
    const result = await call('request_approval', { action: 'Drop Table' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Input validation error/);
    expect(approvals.asked).toHaveLength(0);
    expect((await call('request_approval', { action: 'x', timeoutSeconds: 3601 })).isError).toBe(true);
    expect(approvals.asked).toHaveLength(0);
  });

  it('sends progress while it waits, when the client asks for it', async () => {
    await connect({ progressIntervalMs: 20 });
    approvals.answer = async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return outcome('approved', { action: r.action, decidedBy: 'approvers' });
    };
    const progress: number[] = [];
    const result = (await client.callTool({ name: 'request_approval', arguments: { action: 'db.migrate' } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p.progress),
      resetTimeoutOnProgress: true,
    })) as CallToolResult;
    expect(result.structuredContent).toMatchObject({ status: 'approved' });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('get_approval_status: the view as text and structured content', async () => {
    approvals.status = async (id) =>
      view({
        id,
        status: 'pending',
        action: 'data.export',
        rule: 'prod-exports',
        requiredApprovals: 2,
        votes: [{ approver: 'alice@example.com', decision: 'approve', reason: 'fine', at: '2025-01-01T00:01:00Z' }],
        missing: ['1 more from data-owners'],
        expiresAt: '2025-01-01T01:00:00Z',
      });
    const result = await call('get_approval_status', { id: 'act_abc', waitSeconds: 10 });
    expect(result.isError).toBeFalsy();
    expect(approvals.statusAsked).toEqual([{ id: 'act_abc', waitSeconds: 10 }]);
    expect(text(result)).toContain('act_abc: pending (data.export, rule prod-exports)');
    expect(text(result)).toContain('votes (1 of 2 approvals): alice@example.com approved ("fine")');
    expect(text(result)).toContain('missing: 1 more from data-owners');
    expect(result.structuredContent).toEqual({
      id: 'act_abc',
      status: 'pending',
      action: 'data.export',
      rule: 'prod-exports',
      requiredApprovals: 2,
      votes: [{ approver: 'alice@example.com', decision: 'approve', reason: 'fine' }],
      missing: ['1 more from data-owners'],
      expiresAt: '2025-01-01T01:00:00Z',
    });

    approvals.status = async (id) =>
      view({ id, status: 'approved', decidedBy: 'approvers', receipt: 'r.e.c', votes: [{ approver: 'bob@example.com', decision: 'approve', at: 'now' }] });
    const approved = await call('get_approval_status', { id: 'act_abc' });
    expect(approvals.statusAsked[1]).toEqual({ id: 'act_abc', waitSeconds: undefined });
    expect(text(approved)).toContain('receipt: r.e.c');
    expect(approved.structuredContent).toMatchObject({ status: 'approved', receipt: 'r.e.c', decidedBy: 'approvers' });

    approvals.status = async () => {
      throw new CountersignApiError(404, 'not_found', 'no such request');
    };
    const missing = await call('get_approval_status', { id: 'act_nope' });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toContain('not_found: no such request');
    expect((await call('get_approval_status', { id: 'nope' })).isError).toBe(true);
    expect((await call('get_approval_status', { id: 'act_x', waitSeconds: 21 })).isError).toBe(true);
    expect(approvals.statusAsked).toHaveLength(3);
  });
});

describe('approval gateway', () => {
  const approvals = new FakeApprovals();
  let gateway: ApprovalGateway;
  let client: Client;
  let direct: Client;

  beforeAll(async () => {
    gateway = await createApprovalGateway({ approvals, upstream: { ...UPSTREAM, stderr: 'ignore' }, serverName: 'git-server', timeoutMs: 60_000 });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'test-agent', version: '1.0.0' });
    await Promise.all([gateway.connect(serverSide), client.connect(clientSide)]);
    direct = new Client({ name: 'direct', version: '1.0.0' });
    await direct.connect(new StdioClientTransport({ ...UPSTREAM, stderr: 'ignore' }));
  });
  afterAll(async () => {
    await client?.close();
    await direct?.close();
    await gateway?.close();
  });
  beforeEach(() => {
    approvals.asked = [];
    approvals.redeemed = [];
    approvals.answer = async (r) => outcome('approved', { id: 'act_yes', action: r.action, decidedBy: 'policy', receipt: 'h.p.s' });
    approvals.redemption = async () => ({ redeemedAt: '2025-01-01T00:00:01Z', redeemedBy: 'agent' });
  });

  /** The upstream's own call counter, read without the gateway (so without asking). */
  const upstreamCalls = async () => {
    const result = (await gateway.upstream.request({ method: 'tools/call', params: { name: 'calls' } }, CallToolResultSchema)) as CallToolResult;
    return result.structuredContent as { total: number; byTool: Record<string, number> };
  };
  const call = async (name: string, args?: Record<string, unknown>) =>
    (await client.callTool({ name, ...(args ? { arguments: args } : {}) })) as CallToolResult;

  it('lists exactly the upstream tools, across its pages', async () => {
    const upstreamTools: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await direct.listTools(cursor ? { cursor } : {});
      upstreamTools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    expect(upstreamTools).toHaveLength(5);

    const listed = await client.listTools();
    expect(listed.nextCursor).toBeUndefined();
    expect(listed.tools).toEqual(upstreamTools);
    expect(listed.tools.find((t) => t.name === 'delete_branch')).toEqual({
      name: 'delete_branch',
      description: 'Deletes a branch. Irreversible.',
      inputSchema: {
        type: 'object',
        properties: { branch: { type: 'string' }, force: { type: 'boolean' } },
        required: ['branch'],
        additionalProperties: false,
      },
      annotations: { destructiveHint: true, idempotentHint: true },
    });
    expect(client.getServerCapabilities()?.tools).toEqual({ listChanged: true });
    expect(client.getInstructions()).toBe('Fixture instructions.');
    expect(approvals.asked).toHaveLength(0);
  });

  it('approved: asks for mcp.<server>.<tool> with the arguments as parameters, then forwards and answers the upstream result unchanged', async () => {
    const before = await upstreamCalls();
    const result = await call('delete_branch', { branch: 'main', force: true });
    expect(result).toEqual({ content: [{ type: 'text', text: 'deleted main' }], _meta: { 'example.com/upstream': 'kept' } });
    expect(approvals.asked).toHaveLength(1);
    expect(approvals.asked[0]!.request).toEqual({
      action: 'mcp.git-server.delete_branch',
      resource: 'mcp://git-server/delete_branch',
      parameters: { branch: 'main', force: true },
    });
    expect(approvals.asked[0]!.options?.timeoutMs).toBe(60_000);
    // Redeemed before forwarding, bound to exactly the arguments forwarded.
    expect(approvals.redeemed).toEqual([{ id: 'act_yes', receipt: 'h.p.s', parameters: { branch: 'main', force: true } }]);
    expect((await upstreamCalls()).byTool.delete_branch).toBe((before.byTool.delete_branch ?? 0) + 1);
  });

  it('a redemption refused (already redeemed, other arguments, lapsed) or failing: a tool error, and the upstream is not called', async () => {
    const before = await upstreamCalls();
    approvals.redemption = async () => {
      throw new CountersignApiError(409, 'already_redeemed', 'the approval was already redeemed at 2025-01-01T00:00:01.000Z by agent');
    };
    let result = await call('delete_branch', { branch: 'main' });
    expect(result).toEqual({
      isError: true,
      content: [
        {
          type: 'text',
          text: 'Countersign refused to redeem the approval of mcp.git-server.delete_branch (already_redeemed: the approval was already redeemed at 2025-01-01T00:00:01.000Z by agent) (request act_yes). The call was not made.',
        },
      ],
    });
    approvals.redemption = async () => {
      throw new CountersignApiError(409, 'redemption_lapsed', 'the approval lapsed');
    };
    expect(text(await call('delete_branch', { branch: 'main' }))).toMatch(/refused to redeem .*redemption_lapsed/);
    approvals.redemption = async () => {
      throw new CountersignApiError(0, 'network_error', 'socket hang up');
    };
    result = await call('delete_branch', { branch: 'main' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(
      /^Countersign could not redeem the approval of mcp\.git-server\.delete_branch \(request act_yes\), so the call was not made\./,
    );
    approvals.answer = async (r) => outcome('approved', { id: 'act_bare', action: r.action, decidedBy: 'policy' });
    expect(text(await call('delete_branch', { branch: 'main' }))).toMatch(/gave no receipt to redeem \(request act_bare\)/);
    expect(approvals.redeemed).toHaveLength(3);
    expect(await upstreamCalls()).toEqual(before);
  });

  it('denied: a tool error naming the action, the reason and the request; the upstream is not called', async () => {
    approvals.answer = async () => outcome('denied', { id: 'act_denied1', reason: 'main is protected', decidedBy: 'approvers' });
    const before = await upstreamCalls();
    const result = await call('delete_branch', { branch: 'main' });
    expect(result).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'Countersign denied mcp.git-server.delete_branch: main is protected (request act_denied1). The call was not made.' }],
    });
    expect(await upstreamCalls()).toEqual(before);
  });

  it('expired, cancelled, still pending and API errors refuse the call too', async () => {
    const before = await upstreamCalls();
    approvals.answer = async () => outcome('expired', { id: 'act_exp', decidedBy: 'timeout' });
    let result = await call('echo', { text: 'hi' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/mcp\.git-server\.echo expired .*act_exp/);

    approvals.answer = async () => outcome('cancelled', { id: 'act_can', decidedBy: 'requester' });
    result = await call('echo', { text: 'hi' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/mcp\.git-server\.echo was cancelled .*act_can/);

    approvals.answer = async () => {
      throw new ApprovalDeadlineError('act_slow', view({ id: 'act_slow' }));
    };
    result = await call('echo', { text: 'hi' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/mcp\.git-server\.echo is still pending approval at the deadline \(request act_slow\)/);

    approvals.answer = async () => {
      throw new CountersignApiError(401, 'unauthorized', 'no or bad credentials');
    };
    result = await call('echo', { text: 'hi' });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(
      'Countersign could not approve mcp.git-server.echo, so the call was not made. Countersign API error unauthorized: no or bad credentials (HTTP 401)',
    );

    expect(await upstreamCalls()).toEqual(before);
    expect(approvals.asked).toHaveLength(4);
  });

  it('sanitizes odd tool names in the action; the upstream still gets its own name', async () => {
    const result = await call('Get.File', { path: 'README.md' });
    expect(text(result)).toBe('contents of README.md');
    expect(approvals.asked[0]!.request).toEqual({
      action: 'mcp.git-server.get_file',
      resource: 'mcp://git-server/Get.File',
      parameters: { path: 'README.md' },
    });
  });

  it('a call without arguments asks with empty parameters; structured results pass through', async () => {
    const result = await call('calls');
    expect(approvals.asked[0]!.request).toEqual({ action: 'mcp.git-server.calls', resource: 'mcp://git-server/calls', parameters: {} });
    expect(result.structuredContent).toMatchObject({ total: expect.any(Number) });
  });

  it('an unknown tool is a protocol error, and nobody is asked', async () => {
    await expect(call('nope', {})).rejects.toThrow(/Tool nope not found/);
    expect(approvals.asked).toHaveLength(0);
  });

  it("forwards the upstream's tools/list_changed", async () => {
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    expect(text(await call('enable_extra'))).toBe('extra enabled');
    await changed;
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('extra');
    expect(text(await call('extra'))).toBe('extra done');
    expect(approvals.asked.map((a) => a.request.action)).toEqual(['mcp.git-server.enable_extra', 'mcp.git-server.extra']);
  });

  it('closing the gateway ends the upstream process', async () => {
    const own = await createApprovalGateway({ approvals, upstream: { ...UPSTREAM, stderr: 'ignore' }, serverName: 'other' });
    const pid = (own.upstream.transport as StdioClientTransport).pid!;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await own.close();
    await own.closed;
    await expect
      .poll(() => {
        try {
          process.kill(pid, 0);
          return 'alive';
        } catch {
          return 'gone';
        }
      })
      .toBe('gone');
  });
});
