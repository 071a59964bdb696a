/**
 * Grants on the command line, against a stub API: `countersign approve --for` (checked before anything is sent, and
 * sent as the vote's `for`), `countersign grants` (table, --all, --json, the answer checked by the grant view's
 * schema), `countersign grants revoke` (a reason required), status's grant rows, and help, completion and "did you
 * mean" for the new commands.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseFor, summaryLines } from '../../cli/actions';
import { UsageError } from '../../cli/connection';
import { grantsTable } from '../../cli/grants';
import type { GrantView } from '../../lambdas/core/grant';
import type { ActionView } from '../../lambdas/core/request';
import { runCliInProcess } from '../fixtures/cli';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  seen.length = 0;
  answer = { status: 200, body: {} };
});

const countersign = (...args: string[]) => runCliInProcess(args, { env: { COUNTERSIGN_URL: base, COUNTERSIGN_API_KEY: 'alice-key' } });

const view = (over: Partial<ActionView> = {}): ActionView => ({
  id: 'act_abc',
  status: 'approved',
  action: 'db.migrate',
  resource: 'orders',
  requester: 'arn:aws:iam::000000000000:role/agent',
  rule: 'migrations',
  requiredApprovals: 1,
  votes: [{ approver: 'alice@example.com', decision: 'approve', at: '2026-01-01T00:01:00.000Z' }],
  createdAt: '2026-01-01T00:00:00.000Z',
  decidedBy: 'approvers',
  decidedAt: '2026-01-01T00:01:00.000Z',
  ...over,
});

const grant = (over: Partial<GrantView> = {}): GrantView => ({
  id: 'grt_abc',
  status: 'active',
  rule: 'migrations',
  requestId: 'act_abc',
  scope: { action: 'db.migrate', requester: 'arn:aws:iam::000000000000:role/agent', resource: null },
  approvers: ['alice@example.com'],
  grantedAt: '2026-01-01T00:01:00.000Z',
  until: '2026-01-01T02:01:00.000Z',
  ...over,
});

describe('countersign approve --for', () => {
  it('takes a duration as the config writes one', () => {
    expect(parseFor(undefined)).toBeUndefined();
    expect(parseFor('2h')).toBe('2h');
    expect(parseFor('30m')).toBe('30m');
    for (const bad of ['', '2', '2 hours', '1.5h', '-1h', '0h', 'forever']) expect(() => parseFor(bad), bad).toThrow(UsageError);
  });

  it('sends the vote with for, and prints the grant it made', async () => {
    answer = { status: 200, body: view({ grant: { id: 'grt_abc', until: '2026-01-01T02:01:00.000Z' } }) };
    const run = await countersign('approve', 'act_abc', '--for', '2h', '--reason', 'migration week');
    expect(run.code).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/actions/act_abc/decision' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ decision: 'approve', reason: 'migration week', for: '2h' });
    expect(run.stdout).toMatch(/\n {2}grant\s+grt_abc until 1 Jan 2026, 02:01 UTC\n/);
  });

  it('without --for approves this call only: no for is sent', async () => {
    answer = { status: 200, body: view() };
    expect((await countersign('approve', 'act_abc')).code).toBe(0);
    expect(JSON.parse(seen[0]!.body)).toEqual({ decision: 'approve' });
  });

  it('a bad --for, or --for on deny, is a usage error and nothing is sent', async () => {
    const bad = await countersign('approve', 'act_abc', '--for', '2 hours');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--for 2 hours: expected a duration such as 30m, 2h or 1d');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const deny = await countersign('deny', 'act_abc', '--for', '2h');
    expect(deny.code).toBe(2);
    expect(deny.stderr).toContain("countersign deny: Unknown option '--for'");
    expect(seen).toHaveLength(0);
  });

  it("the server's refusal (longer than maxFor) is shown as API errors are: code, message, exit 3, no stack", async () => {
    answer = { status: 400, body: { error: { code: 'invalid_request', message: 'rule migrations grants for at least 1 minute and at most 8 hours' } } };
    const run = await countersign('approve', 'act_abc', '--for', '1d', '--json');
    expect(run.code).toBe(3);
    expect(run.stderr).toBe('countersign approve: invalid_request: rule migrations grants for at least 1 minute and at most 8 hours (HTTP 400)\n');
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      error: { code: 'invalid_request', message: 'rule migrations grants for at least 1 minute and at most 8 hours' },
    });
  });
});

describe('countersign grants', () => {
  it('lists the active grants as a table, --all asks for the last week too', async () => {
    answer = { status: 200, body: { grants: [grant()] } };
    const run = await countersign('grants');
    expect(run.code).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/grants?status=active' });
    const [header, row] = run.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+STATUS\s+RULE\s+SCOPE\s+APPROVERS\s+UNTIL$/);
    expect(row).toContain('grt_abc');
    expect(row).toContain('action=db.migrate requester=arn:aws:iam::000000000000:role/agent resource=(none)');
    expect(row).toContain('1 Jan 2026, 02:01 UTC');
    await countersign('grants', '--all');
    expect(seen[1]).toMatchObject({ url: '/v1/grants?status=all' });
  });

  it('--json prints the grants as the API answered them', async () => {
    answer = { status: 200, body: { grants: [grant()] } };
    const run = await countersign('grants', '--json');
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, grants: [grant()] });
  });

  it('says so when there are none', async () => {
    answer = { status: 200, body: { grants: [] } };
    expect((await countersign('grants')).stdout).toBe('no active grants\n');
  });

  it('an answer that is no list of grants is an API error, not a crash', async () => {
    answer = { status: 200, body: { grants: [{ id: 'grt_x' }] } };
    const run = await countersign('grants');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^countersign grants: invalid_response: /);
  });

  it('the table neutralizes what the agent supplied: no escape sequence or hidden character reaches the terminal', () => {
    const lines = grantsTable([grant({ scope: { action: 'db.migrate', resource: 'orders\u001b[2J\u202e', requester: 'r' }, rule: 'x\ny' })]);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('resource=orders\\x1b[2J[U+202E]');
    expect(lines[1]).toContain('x\\ny');
    expect(lines.join('\n')).not.toContain('\u001b');
    expect(lines.join('\n')).not.toContain('\u202e');
  });
});

describe('countersign grants revoke', () => {
  it('revokes with a reason and prints the grant', async () => {
    answer = {
      status: 200,
      body: grant({ status: 'revoked', revokedAt: '2026-01-01T01:00:00.000Z', revokedBy: 'alice@example.com', revokeReason: 'done early' }),
    };
    const run = await countersign('grants', 'revoke', 'grt_abc', '--reason', 'done early');
    expect(run.code).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/grants/grt_abc/revoke' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ reason: 'done early' });
    expect(run.stdout).toMatch(/^grt_abc revoked\n/);
    expect(run.stdout).toContain('reason     "done early"');
  });

  it('a reason is required, and the id must be a grant id; nothing is sent otherwise', async () => {
    const noReason = await countersign('grants', 'revoke', 'grt_abc');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');
    expect((await countersign('grants', 'revoke', 'grt_abc', '--reason', '  ')).code).toBe(2);
    const notGrant = await countersign('grants', 'revoke', 'act_abc', '--reason', 'r');
    expect(notGrant.code).toBe(2);
    expect(notGrant.stderr).toContain('grant ids start with grt_');
    expect((await countersign('grants', 'revoke', '--reason', 'r')).code).toBe(2);
    expect(seen).toHaveLength(0);
  });

  it("the server's refusal is an API error, exit 3", async () => {
    answer = { status: 403, body: { error: { code: 'forbidden', message: "only an approver of the grant's rule or an auditor can revoke a grant" } } };
    const run = await countersign('grants', 'revoke', 'grt_abc', '--reason', 'r');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('countersign grants revoke: forbidden: ');
  });
});

describe('status', () => {
  it('says a request was approved by a grant, and names the grant an approval made', () => {
    const byGrant = summaryLines(view({ decidedBy: 'grant', votes: [], grantedBy: { grant: 'grt_xyz', request: 'act_xyz' } }), true);
    expect(byGrant.join('\n')).toMatch(/\n {2}decided\s+by a grant \(grt_xyz, made by the approval of act_xyz\) at /);
    const made = summaryLines(view({ grant: { id: 'grt_abc', until: '2026-01-01T02:01:00.000Z' } }));
    expect(made.join('\n')).toMatch(/\n {2}grant\s+grt_abc until 1 Jan 2026, 02:01 UTC$/);
  });
});

describe('the command line', () => {
  it('help, completion and "did you mean" know grants and --for', async () => {
    expect((await countersign('grants', '--help')).stdout).toMatch(/^usage: countersign grants \[--all\] \[--json\]/);
    expect((await countersign('grants', 'revoke', '--help')).stdout).toMatch(/^usage: countersign grants revoke <grant id> --reason <text>/);
    expect((await countersign('approve', '--help')).stdout).toContain('--for <duration>');
    expect((await countersign('help')).stdout).toContain('grants revoke <grant id> --reason <text>');
    const misspelt = await countersign('grant');
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain('(Did you mean grants?)');
    const sub = await countersign('grants', 'revok', 'grt_abc');
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('unknown subcommand "revok"');
    const bash = (await countersign('completion', 'bash')).stdout;
    expect(bash).toMatch(/'grants'\) words='revoke [^']*--all/);
    expect(bash).toMatch(/'approve'\) words='[^']*--for/);
    expect(bash).toMatch(/'grants revoke'\) words='[^']*--reason/);
    expect(seen).toHaveLength(0);
  });
});
