/**
 * The CLI for agents and approvers against local mode: `run` executes its command only when approved, passing its
 * exit code through; `request`, `status`, `wait`, `cancel`, `approve`, `deny` and `pending`; exit codes; and the
 * README's CLI example, run as written. Commands run in this process (the CLI's main with the test's streams and
 * environment; `run`'s command is still a real child process), except where a signal is sent to countersign itself:
 * those run the installed command as a child process.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { verifyReceipt } from '../../lambdas/core/receipt';
import { type CliOptions, startCliInProcess, startInstalledCli } from '../fixtures/cli';
import { api, eventually, ROOT, type RunningCountersign, startCountersign } from './harness';

const AGENT = 'demo-agent-key';
const AGENT_ARN = 'arn:aws:iam::000000000000:role/demo-agent';
const config = {
  version: 1,
  groups: {
    security: { members: [{ id: 'alice@example.com', email: 'alice@example.com' }] },
    ops: { members: [{ id: 'bob@example.com', email: 'bob@example.com' }] },
  },
  rules: [
    { name: 'reads', match: { action: '*.read' }, effect: 'allow' },
    { name: 'drops', match: { action: 'db.drop*' }, effect: 'deny', reason: 'Dropping databases is never automated.' },
    { name: 'infra', match: { action: 'infra.*' }, effect: 'require_approval', approvers: ['security'], minApprovals: 1, timeout: '1h' },
    { name: 'slow', match: { action: 'slow.*' }, effect: 'require_approval', approvers: ['security'], timeout: '3s' },
  ],
  default: { effect: 'deny', reason: 'No rule matched.' },
  channels: { email: { from: 'countersign@example.com' } },
  local: { apiKeys: { [AGENT]: AGENT_ARN, 'alice-key': 'alice@example.com', 'bob-key': 'bob@example.com' } },
};

const dir = mkdtempSync(join(tmpdir(), 'cs-cli-agent-'));
let cs: RunningCountersign;
let publicKeyPem: string;

/** The environment of `countersign ...` as the agent (or `apiKey`) against local mode. */
const agentOptions = (options: { apiKey?: string } = {}): CliOptions => ({ env: { COUNTERSIGN_URL: cs.url, COUNTERSIGN_API_KEY: options.apiKey ?? AGENT } });

/** Starts `countersign ...` in this process. */
const start = (args: readonly string[], options: { apiKey?: string } = {}) => startCliInProcess(args, agentOptions(options));

/** Starts the installed command, a child process: for the tests that send countersign a signal. */
const startInstalled = (args: readonly string[], options: { apiKey?: string } = {}) => startInstalledCli(args, agentOptions(options));

const countersign = (args: readonly string[], options: { apiKey?: string } = {}) => start(args, options).done;

let markers = 0;
/** A file the command writes when (and only when) it runs. */
const marker = () => join(dir, `marker-${++markers}`);
/** `node -e <script>` as the command to run. */
const node = (script: string) => [process.execPath, '-e', script];
const ID = /act_[A-Za-z0-9_-]+/;

/** Waits until alice's pending list (over the API) holds a request for `resource`; its id. */
async function pendingFor(resource: string): Promise<string> {
  return eventually(
    async () => {
      const { body } = await api(cs.url, 'GET', '/v1/me/pending', 'alice-key');
      return (body.items as Array<{ id: string; resource?: string }>).find((v) => v.resource === resource)?.id;
    },
    30_000,
    200,
  );
}

beforeAll(async () => {
  const configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, stringify(config));
  cs = await startCountersign({ dataDir: join(dir, 'data'), configFile });
  publicKeyPem = await (await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: `Bearer ${AGENT}` } })).text();
});

afterAll(async () => {
  await cs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('countersign run', () => {
  it('runs an allowed action at once and passes its exit code through; the command sees the request id', async () => {
    const file = marker();
    const script = `require('fs').writeFileSync(${JSON.stringify(file)}, process.env.COUNTERSIGN_REQUEST_ID); console.log('the command ran'); process.exit(7)`;
    const { code, stdout, stderr } = await countersign(['run', '--action', 'reports.read', '--resource', 'warehouse', '--', ...node(script)]);
    expect(code).toBe(7);
    expect(stdout).toBe('the command ran\n');
    const id = readFileSync(file, 'utf8');
    expect(id).toMatch(/^act_/);
    expect(stderr).toContain(`${id} approved by policy (rule reads)`);
  });

  it('does not run a denied action: exit 4 with the reason', async () => {
    const file = marker();
    const { code, stdout, stderr } = await countersign([
      'run',
      '--action',
      'db.drop_table',
      '--',
      ...node(`require('fs').writeFileSync(${JSON.stringify(file)}, 'ran')`),
    ]);
    expect(code).toBe(4);
    expect(existsSync(file)).toBe(false);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/act_\S+ was denied by policy \(rule drops\): "Dropping databases is never automated\."; .* did not run/);
  });

  it('runs an infra action only after alice approves it with `countersign approve`; the command gets the receipt', async () => {
    const file = marker();
    const script = `require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify({ id: process.env.COUNTERSIGN_REQUEST_ID, receipt: process.env.COUNTERSIGN_RECEIPT }))`;
    const running = start([
      'run',
      '--action',
      'infra.apply',
      '--resource',
      'vpc-run',
      '--environment',
      'production',
      '--justification',
      'ticket OPS-1',
      '--',
      ...node(script),
    ]);
    // Alice finds it with `countersign pending --json`.
    const id = await eventually(
      async () => {
        const { code, stdout } = await countersign(['pending', '--json'], { apiKey: 'alice-key' });
        expect(code).toBe(0);
        return (JSON.parse(stdout).items as Array<{ id: string; resource?: string }>).find((v) => v.resource === 'vpc-run')?.id;
      },
      30_000,
      200,
    );
    expect(existsSync(file)).toBe(false);
    expect(running.finished()).toBe(false);
    const approved = await countersign(['approve', id, '--reason', 'plan reviewed'], { apiKey: 'alice-key' });
    expect(approved.code).toBe(0);
    expect(approved.stdout.split('\n')[0]).toBe(`${id} approved`);
    const { code, stderr } = await running.done;
    expect(code).toBe(0);
    expect(stderr).toContain(`${id} approved by alice@example.com, redeemed; running`);
    const seen = JSON.parse(readFileSync(file, 'utf8'));
    expect(seen.id).toBe(id);
    expect(verifyReceipt(seen.receipt, publicKeyPem)).toMatchObject({ sub: id, action: 'infra.apply', resource: 'vpc-run', approvers: ['alice@example.com'] });
  });

  it('does not run a request that expires: exit 5', async () => {
    const file = marker();
    const { code, stderr } = await countersign(['run', '--action', 'slow.job', '--', ...node(`require('fs').writeFileSync(${JSON.stringify(file)}, 'ran')`)]);
    expect(code).toBe(5);
    expect(existsSync(file)).toBe(false);
    expect(stderr).toMatch(/act_\S+ expired: nobody decided in time/);
  });

  it('stops at --timeout: exit 7 with the id, not run; the same --idempotency-key runs it once approved', async () => {
    const file = marker();
    const args = [
      'run',
      '--action',
      'infra.apply',
      '--resource',
      'vpc-timeout',
      '--idempotency-key',
      'deploy-42',
      '--timeout',
      '2s',
      '--',
      ...node(`require('fs').writeFileSync(${JSON.stringify(file)}, 'ran'); process.exit(11)`),
    ];
    const started = Date.now();
    const first = await countersign(args);
    expect(first.code).toBe(7);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(existsSync(file)).toBe(false);
    expect(first.stdout).toBe('');
    const id = ID.exec(first.stderr)?.[0];
    expect(first.stderr).toContain(`${id} is still pending after 2s (missing: 1 more approval); wait for it with: countersign wait ${id}`);
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body.status).toBe('pending');
    await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve' });
    const again = await countersign(args);
    expect(again.code).toBe(11);
    expect(again.stderr).toContain(`${id} approved by alice@example.com, redeemed; running`);
    expect(readFileSync(file, 'utf8')).toBe('ran');
  });

  // A signal to countersign itself: the installed command, a child process.
  it('Ctrl-C while waiting cancels the request and exits 130', async () => {
    const file = marker();
    const running = startInstalled([
      'run',
      '--action',
      'infra.apply',
      '--resource',
      'vpc-interrupted',
      '--',
      ...node(`require('fs').writeFileSync(${JSON.stringify(file)}, 'ran')`),
    ]);
    const id = await pendingFor('vpc-interrupted');
    running.child.kill('SIGINT');
    const { code, stderr } = await running.done;
    expect(code).toBe(130);
    expect(stderr).toContain(`interrupted; ${id} cancelled;`);
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, AGENT)).body).toMatchObject({ status: 'cancelled', decidedBy: 'requester' });
    expect(existsSync(file)).toBe(false);
  });

  it('passes SIGTERM on to the command; a command killed by a signal exits 128 + its number', async () => {
    const ready = marker();
    const got = marker();
    const script = `const fs = require('fs'); process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(got)}, 'SIGTERM'); process.exit(9); }); fs.writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000);`;
    // SIGTERM to countersign itself, passed on to the command: the installed command, a child process.
    const running = startInstalled(['run', '--action', 'logs.read', '--', ...node(script)]);
    await eventually(async () => (existsSync(ready) ? true : undefined), 20_000, 50);
    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(9);
    expect(readFileSync(got, 'utf8')).toBe('SIGTERM');

    const killed = await countersign(['run', '--action', 'logs.read', '--', ...node(`process.kill(process.pid, 'SIGKILL')`)]);
    expect(killed.code).toBe(128 + 9);
    const missing = await countersign(['run', '--action', 'logs.read', '--', join(dir, 'no-such-command')]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('ENOENT');
  });

  it('--json prints the outcome when the command does not run', async () => {
    const { code, stdout } = await countersign(['run', '--action', 'db.drop_users', '--json', '--', 'true']);
    expect(code).toBe(4);
    expect(JSON.parse(stdout)).toMatchObject({
      ok: true,
      status: 'denied',
      reason: 'Dropping databases is never automated.',
      request: { rule: 'drops', decidedBy: 'policy' },
    });
  });
});

describe('request, status, wait, cancel, approve, deny, pending', () => {
  it('request without --wait: the id, the status and what is missing; --json has them on top of the whole answer', async () => {
    const { code, stdout, stderr } = await countersign([
      'request',
      '--action',
      'infra.apply',
      '--resource',
      'vpc-json',
      '--environment',
      'production',
      '--parameters',
      '{"plan":"p-1"}',
      '--agent-name',
      'deploy-bot',
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(Object.keys(json).sort()).toEqual(['id', 'missing', 'ok', 'request', 'status']);
    expect(json).toMatchObject({ ok: true, status: 'pending', missing: ['1 more approval'] });
    expect(json.id).toMatch(/^act_/);
    expect(json.request).toMatchObject({
      id: json.id,
      status: 'pending',
      action: 'infra.apply',
      resource: 'vpc-json',
      environment: 'production',
      requester: AGENT_ARN,
      rule: 'infra',
      requiredApprovals: 1,
      votes: [],
    });
    expect(json.request.expiresAt).toMatch(/^\d{4}-/);

    const text = await countersign(['request', '--action', 'infra.apply', '--resource', 'vpc-text']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^act_\S+ pending$/);
    expect(lines[1]).toBe('  missing  1 more approval');
    expect(lines[2]).toMatch(/^ {2}expires {2}\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC \((59|60) minutes left\)$/);

    const quiet = await countersign(['request', '--action', 'reports.read', '-q']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^act_\S+\n$/);

    const allowed = JSON.parse((await countersign(['request', '--action', 'reports.read', '--parameters', '{"rows":10}', '--json'])).stdout);
    expect(allowed).toMatchObject({ ok: true, status: 'approved', request: { decidedBy: 'policy' } });
    expect(verifyReceipt(allowed.receipt, publicKeyPem, { parameters: { rows: 10 } }).sub).toBe(allowed.id);

    const denied = await countersign(['request', '--action', 'db.drop_table', '--json']);
    expect(denied.code).toBe(4);
    expect(JSON.parse(denied.stdout)).toMatchObject({ ok: true, status: 'denied', reason: 'Dropping databases is never automated.' });
  });

  it('status prints the request; deny by alice with --reason shows in status, and wait exits 4 with the reason', async () => {
    const id = JSON.parse(
      (await countersign(['request', '--action', 'infra.apply', '--resource', 'vpc-deny', '--justification', 'rotate\u001b[2J keys', '--json'])).stdout,
    ).id;
    const before = await countersign(['status', id]);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain(`${id} pending\n`);
    expect(before.stdout).toMatch(/ {2}resource +vpc-deny\n/);
    expect(before.stdout).toMatch(/ {2}missing +1 more approval\n/);

    const denied = await countersign(['deny', id, '--reason', 'not during the freeze'], { apiKey: 'alice-key' });
    expect(denied.code).toBe(0);
    expect(denied.stdout.split('\n')[0]).toBe(`${id} denied`);

    const status = await countersign(['status', id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('alice@example.com denied: "not during the freeze"');
    expect(status.stdout).toMatch(/ {2}reason +"not during the freeze"\n/);
    expect(JSON.parse((await countersign(['status', id, '--json'])).stdout)).toMatchObject({ ok: true, id, status: 'denied', reason: 'not during the freeze' });

    const waited = await countersign(['wait', id]);
    expect(waited.code).toBe(4);
    expect(waited.stdout).toContain(`${id} denied`);
    expect(waited.stdout).toContain('"not during the freeze"');
    const json = await countersign(['wait', id, '--json']);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, id, status: 'denied', reason: 'not during the freeze' });
  });

  it('wait exits 0 with the receipt once approved, and 7 at its --timeout', async () => {
    const id = JSON.parse((await countersign(['request', '--action', 'infra.apply', '--resource', 'vpc-wait', '--json'])).stdout).id;
    const timedOut = await countersign(['wait', id, '--timeout', '1']);
    expect(timedOut.code).toBe(7);
    expect(timedOut.stdout.split('\n')[0]).toBe(`${id} pending`);
    expect(timedOut.stderr).toContain(`${id} is still pending after 1s; wait again with: countersign wait ${id}`);
    const waiting = start(['wait', id, '--timeout', '60s']);
    await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve' });
    const { code, stdout } = await waiting.done;
    expect(code).toBe(0);
    expect(stdout).toContain(`${id} approved\n`);
    expect(stdout).toMatch(/ {2}decided +by alice@example\.com at \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC\n/);
    const receipt = /receipt +(\S+)/.exec(stdout)?.[1];
    expect(verifyReceipt(receipt!, publicKeyPem).sub).toBe(id);
  });

  it('cancel withdraws a pending request; wait then exits 6', async () => {
    const id = JSON.parse((await countersign(['request', '--action', 'infra.apply', '--resource', 'vpc-cancel', '--json'])).stdout).id;
    const cancelled = await countersign(['cancel', id]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout.split('\n')[0]).toBe(`${id} cancelled`);
    expect((await countersign(['wait', id])).code).toBe(6);
    // Cancelling again is idempotent; a request that is decided cannot be cancelled.
    expect((await countersign(['cancel', id])).code).toBe(0);
    const denied = JSON.parse((await countersign(['request', '--action', 'db.drop_table', '--json'])).stdout).id;
    const late = await countersign(['cancel', denied, '--json']);
    expect(late.code).toBe(3);
    expect(JSON.parse(late.stdout)).toEqual({ ok: false, error: { code: 'already_decided', message: expect.any(String) } });
    expect(late.stderr).toContain('already_decided');
  });

  it('pending lists what waits for alice, and nothing for the agent or bob', async () => {
    const id = JSON.parse(
      (await countersign(['request', '--action', 'infra.apply', '--resource', 'vpc-pending', '--environment', 'staging', '--json'])).stdout,
    ).id;
    const table = await countersign(['pending'], { apiKey: 'alice-key' });
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +ACTION +RESOURCE +ENVIRONMENT +REQUESTER +AGE +EXPIRES +MISSING$/);
    const row = lines.find((l) => l.startsWith(id));
    expect(row).toMatch(new RegExp(`^${id} +infra\\.apply +vpc-pending +staging +arn:aws:iam::000000000000:role/demo-agent +\\d+s +in 59m +1 more approval$`));
    const forAlice = JSON.parse((await countersign(['pending', '--json'], { apiKey: 'alice-key' })).stdout);
    expect(forAlice.ok).toBe(true);
    expect(forAlice.items.map((v: { id: string }) => v.id)).toContain(id);
    for (const key of [AGENT, 'bob-key']) {
      const other = await countersign(['pending', '--json'], { apiKey: key });
      expect(other.code).toBe(0);
      expect(JSON.parse(other.stdout)).toEqual({ ok: true, items: [], context: {} });
    }
    expect((await countersign(['pending'], { apiKey: 'bob-key' })).stdout).toBe('nothing waits for your decision\n');
  });

  it("status and pending show what would be approved: parameters, justification (the agent's words), agent, hidden characters marked", async () => {
    const created = await countersign([
      'request',
      '--action',
      'infra.apply',
      '--resource',
      'vpc-context',
      '--environment',
      'staging',
      '--justification',
      'Apply plan\u001b[2J OPS-1\u202eevil',
      '--parameters',
      '{"plan":"p-\u200b42","count":3}',
      '--agent-name',
      'deploy-bot',
      '--json',
    ]);
    expect(created.stderr).toBe('');
    const { id } = JSON.parse(created.stdout);
    /** The agent's hidden characters that reached the output as they are (none should). */
    const unmarked = (text: string) => ['\u001b', '\u200b', '\u202e'].filter((c) => text.includes(c));
    const justification = `  justification  "Apply plan\\x1b[2J OPS-1[U+202E]evil" (the agent's words)\n`;
    const parameters = '  parameters     {"count":3,"plan":"p-[U+200B]42"}\n';
    const agent = '  agent          deploy-bot\n';
    for (const key of [AGENT, 'alice-key']) {
      const status = await countersign(['status', id], { apiKey: key });
      expect(status.code).toBe(0);
      for (const line of [justification, parameters, agent, '  environment    staging\n']) expect(status.stdout).toContain(line);
      expect(status.stdout).toMatch(/ {2}rule +infra \(1 approval needed\)\n/);
      expect(status.stdout).toMatch(/ {2}expires +\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC \((59|60) minutes left\)\n/);
      expect(unmarked(status.stdout)).toEqual([]);
    }
    const pending = await countersign(['pending'], { apiKey: 'alice-key' });
    expect(pending.code).toBe(0);
    const block = pending.stdout.slice(pending.stdout.indexOf(`\n${id} pending\n`));
    for (const line of [justification, parameters, agent, '  missing        1 more approval\n']) expect(block).toContain(line);
    expect(unmarked(pending.stdout)).toEqual([]);
    // With --json: the context as recorded, beside the API's view.
    const json = JSON.parse((await countersign(['status', id, '--json'], { apiKey: 'alice-key' })).stdout);
    expect(json.context).toEqual({
      parameters: { plan: 'p-\u200b42', count: 3 },
      justification: 'Apply plan\u001b[2J OPS-1\u202eevil',
      agent: { name: 'deploy-bot' },
    });
    const list = JSON.parse((await countersign(['pending', '--json'], { apiKey: 'alice-key' })).stdout);
    expect(list.context[id]).toEqual(json.context);
  });

  it('approve by someone who is not an approver: exit 3 with the API code', async () => {
    const id = JSON.parse((await countersign(['request', '--action', 'infra.apply', '--resource', 'vpc-bob', '--json'])).stdout).id;
    const bob = await countersign(['approve', id], { apiKey: 'bob-key' });
    expect(bob.code).toBe(3);
    // Bob may not see the request: the same answer as for a request that does not exist.
    expect(bob.stderr).toContain('not_found');
    const self = await countersign(['approve', id]);
    expect(self.code).toBe(3);
    expect(self.stderr).toContain('self_approval');
  });

  it('usage errors exit 2 before anything is sent, as JSON with --json', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['request', '--action', 'infra.apply', '--parameters', '{not json'], /--parameters is not JSON/],
      [['request', '--action', 'infra.apply', '--parameters', '[1,2]'], /--parameters must be a JSON object/],
      [['request', '--resource', 'vpc'], /--action is required/],
      [['request', '--action', 'Infra Apply'], /--action: expected 1-128 characters/],
      [['run', '--action', 'reports.read', '--'], /no command after "--"/],
      [['run', '--action', 'reports.read'], /no command after "--"/],
      [['run', '--action', 'reports.read', 'terraform', 'apply'], /put the command after "--"/],
      [['run', '--', 'true'], /--action is required/],
      [['wait', 'act_x', '--timeout', 'soon'], /--timeout soon: expected a duration/],
      [['status'], /a request id is required/],
      [['request', '--action', 'infra.apply', '--bogus'], /Unknown option '--bogus'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => countersign(args)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i]![0].join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(cases[i]![1]);
    });
    const json = await countersign(['request', '--parameters', '{}', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: { code: 'usage', message: '--action is required, e.g. --action infra.apply' } });
    const help = await countersign(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('exit codes: the command');
  });

  it('API errors exit 3 with the code: an unknown id is not_found', async () => {
    const text = await countersign(['status', 'act_doesnotexist0000000']);
    expect(text.code).toBe(3);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain('countersign status: not_found: no such request (HTTP 404)');
    const json = await countersign(['wait', 'act_doesnotexist0000000', '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: { code: 'not_found', message: 'no such request' } });
    const badKey = await countersign(['pending'], { apiKey: 'no-such-key' });
    expect(badKey.code).toBe(3);
    expect(badKey.stderr).toContain('unauthorized');
  });
});

describe('README: the countersign CLI example', () => {
  /** The fenced block of README.md whose first line is `# countersign CLI example`. */
  function readmeExample(): string {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((b) => b.startsWith('# countersign CLI example\n'));
    expect(blocks).toHaveLength(1);
    return blocks[0]!;
  }

  it('runs as written: the agent asks and runs terraform once alice approves, in the background, with the CLI', async () => {
    const example = readmeExample();
    expect(example).toContain('npx countersign run --action infra.apply --resource vpc-prod --environment production');
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    // A stand-in terraform: prints its arguments and what countersign gave it.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${...} here is the shell script's own expansion
    const script = '#!/usr/bin/env bash\necho "terraform $* (request ${COUNTERSIGN_REQUEST_ID}, receipt of ${#COUNTERSIGN_RECEIPT} characters)"\n';
    writeFileSync(join(bin, 'terraform'), script);
    chmodSync(join(bin, 'terraform'), 0o755);

    const { COUNTERSIGN_API_KEY: _unset, ...env } = process.env;
    const shell = spawn('bash', ['-euo', 'pipefail', '-c', example], {
      cwd: ROOT,
      env: { ...env, COUNTERSIGN_URL: cs.url, PATH: `${bin}${delimiter}${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    shell.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    shell.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => shell.on('close', resolve));

    // Alice, in another terminal: `countersign pending`, then `countersign approve <id>` for each vpc-prod apply.
    let finished = false;
    void exited.then(() => (finished = true));
    const approved: string[] = [];
    const approver = (async () => {
      while (!finished) {
        const list = await countersign(['pending', '--json'], { apiKey: 'alice-key' });
        for (const item of JSON.parse(list.stdout).items as Array<{ id: string; action: string; resource?: string }>) {
          if (item.action !== 'infra.apply' || item.resource !== 'vpc-prod') continue;
          expect((await countersign(['approve', item.id, '--reason', 'plan reviewed'], { apiKey: 'alice-key' })).code).toBe(0);
          approved.push(item.id);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    const code = await exited;
    await approver;
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(approved).toHaveLength(2);
    expect(stdout).toMatch(new RegExp(`^terraform apply -auto-approve \\(request ${approved[0]}, receipt of \\d{3,} characters\\)$`, 'm'));
    expect(stdout).toMatch(/^act_\S+ approved$/m);
    expect(stdout).toContain('denied (exit 4)');
    expect(stdout).toContain(`${approved[1]} approved\n`);
  }, 180_000);
});
