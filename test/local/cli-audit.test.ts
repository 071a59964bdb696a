/**
 * `countersign audit show` and `countersign receipt verify` against local mode, run in this process (the CLI's main
 * with the test's streams and environment); the installed command itself runs in the last test.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliOptions, runCliInProcess, runInstalledCli, startInstalledCli } from '../fixtures/cli';
import { api, eventually, type RunningCountersign, startCountersign } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'cs-cli-audit-'));
let cs: RunningCountersign;

interface Options {
  url?: string;
  apiKey?: string;
  input?: string;
}

/** The environment and stdin of a run with the API at `url` (default: local mode) and the auditor's key. */
const cliOptions = (options: Options): CliOptions => ({
  env: { COUNTERSIGN_URL: options.url ?? cs.url, COUNTERSIGN_API_KEY: options.apiKey ?? 'audit-key' },
  input: options.input ?? '',
});

/** Runs `countersign ...` in this process, optionally with stdin. */
const countersign = (args: string[], options: Options = {}) => runCliInProcess(args, cliOptions(options));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const parameters = { table: 'customers', format: 'csv' };
const justification = 'Quarterly churn analysis\u001b[2J\nledger: 99 records verify';
let id: string;
let receipt: string;
let pemFile: string;

beforeAll(async () => {
  cs = await startCountersign({ dataDir: join(dir, 'data') });
  const created = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', {
    action: 'data.export',
    resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
    environment: 'production',
    parameters,
    justification,
    onBehalfOf: 'carol@example.com',
    agent: { name: 'analyst-bot', model: 'some-llm', runId: 'r-42' },
  });
  expect(created.body).toMatchObject({ status: 'pending', rule: 'prod-exports' });
  id = created.body.id;
  // The approvers were asked (the `notified` record is written), then both approve with a reason.
  await eventually(async () => {
    const audit = await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key');
    return (audit.body as Array<{ type: string }>).some((r) => r.type === 'notified') ? true : undefined;
  });
  await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve', reason: 'Checked the table list' });
  const approved = await api(cs.url, 'POST', `/v1/actions/${id}/decision`, 'bob-key', { decision: 'approve', reason: 'Fine for Q4' });
  expect(approved.body.status).toBe('approved');
  // The receipt is the requester's: the approver's answer does not carry it.
  expect(approved.body.receipt).toBeUndefined();
  receipt = (await api(cs.url, 'GET', `/v1/actions/${id}`, 'demo-agent-key')).body.receipt;
  const pem = await (await fetch(`${cs.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer audit-key' } })).text();
  pemFile = join(dir, 'ledger.pem');
  writeFileSync(pemFile, pem);
  writeFileSync(join(dir, 'params.json'), JSON.stringify({ format: 'csv', table: 'customers' }));
  writeFileSync(join(dir, 'other-params.json'), JSON.stringify({ ...parameters, table: 'users' }));
  writeFileSync(join(dir, 'not-json.json'), '{nope');
});

afterAll(async () => {
  await cs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('countersign audit show', () => {
  it('prints the timeline of an approved request and verifies its chain', async () => {
    const records = (await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body as unknown[];
    const { code, stdout, stderr } = await countersign(['audit', 'show', id]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`request ${id}`);
    expect(stdout).toMatch(/^ +1 {2}\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC {2}requested\s+arn:aws:iam::000000000000:role\/demo-agent\n/m);
    expect(stdout).toContain(
      'arn:aws:iam::000000000000:role/demo-agent asked to run data.export on arn:aws:rds:eu-west-1:123456789012:db:customers in production on behalf of carol@example.com, as agent analyst-bot (model some-llm, run r-42).',
    );
    expect(stdout).toContain('Rule prod-exports requires 2 approvals from alice@example.com, bob@example.com, asked on email; expires at ');
    expect(stdout).toMatch(/; expires at \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC\./);
    expect(stdout).toContain('Asked alice@example.com, bob@example.com by email.');
    expect(stdout).toContain('alice@example.com approved: "Checked the table list".');
    expect(stdout).toContain('bob@example.com approved: "Fine for Q4".');
    expect(stdout).toContain('Approved by alice@example.com, bob@example.com.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(`ledger: ${records.length} records verify`);
  });

  it('neutralizes control characters in what the agent wrote: no escape reaches the terminal, no line is faked', async () => {
    const { stdout } = await countersign(['audit', 'show', id]);
    expect(stdout).not.toContain('\u001b');
    expect(stdout).toContain('Justification (from the agent, not verified): "Quarterly churn analysis\\x1b[2J\\nledger: 99 records verify"');
    expect(stdout.split('\n').filter((line) => line.startsWith('ledger:'))).toEqual([expect.stringMatching(/^ledger: \d+ records verify$/)]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the output must hold no control character but newline
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it('--json prints the request id, the verdict, the problems and the timeline', async () => {
    const { code, stdout } = await countersign(['audit', 'show', id, '--json']);
    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(Object.keys(json).sort()).toEqual(['ok', 'problems', 'requestId', 'timeline']);
    expect(json).toMatchObject({ requestId: id, ok: true, problems: [] });
    expect(json.timeline.map((e: { type: string }) => e.type)).toEqual(['requested', 'policy_decided', 'notified', 'voted', 'voted', 'approved']);
    expect(json.timeline.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const entry of json.timeline) {
      expect(Object.keys(entry).sort()).toEqual(['actor', 'at', 'seq', 'summary', 'type']);
      expect(entry.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(json.timeline[3]).toMatchObject({ actor: 'alice@example.com', summary: 'alice@example.com approved: "Checked the table list".' });
    expect(json.timeline[0].summary).not.toContain('\u001b');
  });

  it('verifies with a given public key file too', async () => {
    const { code, stdout } = await countersign(['audit', 'show', id, '--public-key', pemFile]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/ledger: 6 records verify\n$/);
  });

  it('exits 3 with the API error code for an unknown request, or one the caller may not see', async () => {
    const unknown = await countersign(['audit', 'show', 'act_doesnotexist0000000']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('not_found');
    expect(unknown.stdout).toBe('');
    const hidden = await countersign(['audit', 'show', id], { apiKey: 'dave-key' });
    expect(hidden.code).toBe(3);
    expect(hidden.stderr).toContain('not_found');
    const json = await countersign(['audit', 'show', 'act_doesnotexist0000000', '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const down = await countersign(['audit', 'show', id], { url: `http://127.0.0.1:${await closedPort()}` });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('network_error');
  });

  it('exits 2 on usage errors', async () => {
    const cases = [
      ['audit'],
      ['audit', 'nonsense'],
      ['audit', 'show'],
      ['audit', 'show', id, 'extra'],
      ['audit', 'show', id, '--bogus'],
      ['audit', 'show', id, '--public-key', join(dir, 'missing.pem')],
    ];
    const runs = await Promise.all(cases.map((args) => countersign(args)));
    runs.forEach(({ code, stderr }, i) => {
      expect(code, cases[i]!.join(' ')).toBe(2);
      expect(stderr, cases[i]!.join(' ')).toContain('usage: countersign audit');
    });
  });

  it('exits 1 and names each problem by seq when the ledger does not verify', async () => {
    const evidence = (await api(cs.url, 'GET', `/v1/actions/${id}/audit?certificates=true`, 'audit-key')).body as {
      records: Array<{ seq: number; keyId: string; data: Record<string, unknown> }>;
      certificates: unknown[];
    };
    const { records } = evidence;
    // An API that rewrote Alice's reason after the fact.
    records[3]!.data.reason = 'I never looked';
    const pem = readFileSync(pemFile, 'utf8');
    const fake = createHttpServer((req, res) => {
      if (req.url === '/v1/audit/public-key') res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pem);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(evidence));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
      const { code, stdout } = await countersign(['audit', 'show', id], { url });
      expect(code).toBe(1);
      expect(stdout).toContain('alice@example.com approved: "I never looked".');
      expect(stdout).toMatch(/ledger: FAILED\n {2}seq 4: hash does not match the record content\n$/);
      const json = JSON.parse((await countersign(['audit', 'show', id, '--json'], { url })).stdout);
      expect(json).toMatchObject({ ok: false, problems: [{ seq: 4, problem: 'hash does not match the record content' }] });
      // Another request's records are not this request's ledger.
      const other = await countersign(['audit', 'show', 'act_someotherrequest0000', '--json'], { url });
      expect(other.code).toBe(1);
      expect(JSON.parse(other.stdout).problems[0].problem).toBe(`record belongs to request ${id}, not act_someotherrequest0000`);
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('verifies through the signing certificates the API answers, and names a record whose certificate is absent', async () => {
    const evidence = (await api(cs.url, 'GET', `/v1/actions/${id}/audit?certificates=true`, 'audit-key')).body as {
      records: Array<{ seq: number; keyId: string }>;
      certificates: Array<{ certificateId: string }>;
    };
    // The records are signed by environment keys, each named by a certificate the answer carries.
    expect(evidence.records.every((r) => r.keyId.startsWith('cert-'))).toBe(true);
    expect(new Set(evidence.certificates.map((c) => c.certificateId))).toEqual(new Set(evidence.records.map((r) => r.keyId)));
    // Without the flag the answer is the array it always was.
    expect((await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body).toEqual(evidence.records);
    expect((await api(cs.url, 'GET', `/v1/actions/${id}/audit?certificates=maybe`, 'audit-key')).status).toBe(400);
    // An API from before certificates (the array only) leaves each record's certificate absent.
    const pem = readFileSync(pemFile, 'utf8');
    const old = createHttpServer((req, res) => {
      if (req.url === '/v1/audit/public-key') res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pem);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(evidence.records));
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(old.address() as { port: number }).port}`;
      const json = JSON.parse((await countersign(['audit', 'show', id, '--json'], { url })).stdout);
      expect(json.ok).toBe(false);
      expect(json.problems[0]).toEqual({ seq: 1, problem: `signed under certificate ${evidence.records[0]!.keyId}, which is absent` });
    } finally {
      await new Promise<void>((resolve) => old.close(() => resolve()));
    }
  });
});

describe('countersign receipt verify', () => {
  it('verifies the receipt online, with the key from the API', async () => {
    const { code, stdout, stderr } = await countersign(['receipt', 'verify', receipt]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^receipt: valid\n/);
    expect(stdout).toContain(`request      ${id}`);
    expect(stdout).toContain('action       data.export');
    expect(stdout).toContain('resource     arn:aws:rds:eu-west-1:123456789012:db:customers');
    expect(stdout).toContain('environment  production');
    expect(stdout).toContain('requester    arn:aws:iam::000000000000:role/demo-agent');
    expect(stdout).toContain('approvers    alice@example.com, bob@example.com');
    expect(stdout).toContain('rule         prod-exports');
    expect(stdout).toMatch(/issued {7}\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC\n/);
    expect(stdout).toMatch(/expires {6}\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC\n/);
  });

  it('verifies offline with --public-key (the API unreachable), also from stdin', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const offline = await countersign(['receipt', 'verify', receipt, '--public-key', pemFile], { url });
    expect(offline.code).toBe(0);
    expect(offline.stdout).toMatch(/^receipt: valid\n/);
    const stdin = await countersign(['receipt', 'verify', '-', '--public-key', pemFile], { url, input: `${receipt}\n` });
    expect(stdin.code).toBe(0);
    // Without the key file, the same command needs the API, and says it could not reach it.
    const online = await countersign(['receipt', 'verify', receipt], { url });
    expect(online.code).toBe(3);
    expect(online.stderr).toContain('network_error');
  });

  it("checks --parameters against the receipt's salted commitment", async () => {
    const match = await countersign(['receipt', 'verify', receipt, '--parameters', join(dir, 'params.json'), '--json']);
    expect(match.code).toBe(0);
    expect(JSON.parse(match.stdout)).toMatchObject({
      ok: true,
      claims: { sub: id, action: 'data.export', approvers: ['alice@example.com', 'bob@example.com'], rule: 'prod-exports' },
    });
    const mismatch = await countersign(['receipt', 'verify', receipt, '--parameters', join(dir, 'other-params.json')]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toBe('receipt: INVALID (parameters_mismatch: receipt was issued for different parameters)\n');
    const json = await countersign(['receipt', 'verify', receipt, '--parameters', join(dir, 'other-params.json'), '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: { code: 'parameters_mismatch', message: 'receipt was issued for different parameters' } });
  });

  it('binds --action, --resource and --environment: a match exits 0 naming what it checked, each mismatch exits 1 naming the field', async () => {
    const resource = 'arn:aws:rds:eu-west-1:123456789012:db:customers';
    const bound = ['--action', 'data.export', '--resource', resource, '--environment', 'production', '--public-key', pemFile];
    const match = await countersign(['receipt', 'verify', receipt, ...bound, '--parameters', join(dir, 'params.json'), '--approved-by-humans']);
    expect(match.stderr).toBe('');
    expect(match.code).toBe(0);
    expect(match.stdout).toMatch(/^receipt: valid\n/);
    expect(match.stdout).toContain('checked      action, resource, environment, approved by people, parameters\n');
    // Resource and environment in policy's canonical form: case, spacing and width do not count; the action is exact.
    const canonical = await countersign([
      'receipt',
      'verify',
      receipt,
      '--resource',
      ` ${resource.toUpperCase()} `,
      '--environment',
      'Ｐｒｏｄｕｃｔｉｏｎ',
      '--json',
    ]);
    expect(canonical.code).toBe(0);
    expect(JSON.parse(canonical.stdout)).toMatchObject({ ok: true, checked: ['resource', 'environment'], claims: { sub: id, decidedBy: 'approvers' } });

    const cases: Array<[string[], string, string]> = [
      [['--action', 'data.exports'], 'action_mismatch', 'receipt is for action "data.export"; expected action "data.exports"'],
      [['--action', 'Data.Export'], 'action_mismatch', 'receipt is for action "data.export"; expected action "Data.Export"'],
      [
        ['--resource', 'arn:aws:rds:eu-west-1:123456789012:db:users'],
        'resource_mismatch',
        `receipt is for resource "${resource}"; expected resource "arn:aws:rds:eu-west-1:123456789012:db:users"`,
      ],
      [['--resource', ''], 'resource_mismatch', `receipt is for resource "${resource}"; expected no resource`],
      [['--environment', 'staging'], 'environment_mismatch', 'receipt is for environment "production"; expected environment "staging"'],
    ];
    for (const [flags, code, message] of cases) {
      // Every other binding matches: only the one flag differs (given once: a repeated flag is a usage error).
      const at = bound.indexOf(flags[0]!);
      const args = ['receipt', 'verify', receipt, ...bound.slice(0, at), ...flags, ...bound.slice(at + 2)];
      const text = await countersign(args);
      expect(text.code, flags.join(' ')).toBe(1);
      expect(text.stdout, flags.join(' ')).toBe(`receipt: INVALID (${code}: ${message})\n`);
      const json = await countersign([...args, '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: { code, message } });
    }
  });

  it('--approved-by-humans refuses a receipt that policy issued on its own; a flag for a claim the receipt lacks fails', async () => {
    const allowed = await api(cs.url, 'POST', '/v1/actions', 'demo-agent-key', { action: 'reports.read', resource: 'warehouse' });
    expect(allowed.body).toMatchObject({ status: 'approved', rule: 'read-only' });
    const byPolicy = allowed.body.receipt as string;
    const plain = await countersign(['receipt', 'verify', byPolicy, '--action', 'reports.read', '--public-key', pemFile]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('approvers    (none: allowed by policy)');
    const humans = await countersign(['receipt', 'verify', byPolicy, '--action', 'reports.read', '--approved-by-humans', '--public-key', pemFile]);
    expect(humans.code).toBe(1);
    expect(humans.stdout).toBe(
      'receipt: INVALID (not_approved_by_humans: receipt is from policy alone (rule "read-only" allowed it); expected approval by people)\n',
    );
    const json = await countersign(['receipt', 'verify', byPolicy, '--approved-by-humans', '--public-key', pemFile, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'not_approved_by_humans' } });
    // This receipt has no environment: naming one fails, and '' ("on no environment") matches.
    const environment = await countersign(['receipt', 'verify', byPolicy, '--environment', 'production', '--public-key', pemFile]);
    expect(environment.code).toBe(1);
    expect(environment.stdout).toBe('receipt: INVALID (environment_mismatch: receipt is for no environment; expected environment "production")\n');
    expect((await countersign(['receipt', 'verify', byPolicy, '--environment', '', '--resource', 'Warehouse', '--public-key', pemFile])).code).toBe(0);
  });

  it('refuses a tampered receipt', async () => {
    const [header, payload, signature] = receipt.split('.') as [string, string, string];
    const at = Math.floor(payload.length / 2);
    const flipped = `${payload.slice(0, at)}${payload[at] === 'A' ? 'B' : 'A'}${payload.slice(at + 1)}`;
    const { code, stdout } = await countersign(['receipt', 'verify', `${header}.${flipped}.${signature}`, '--public-key', pemFile]);
    expect(code).toBe(1);
    expect(stdout).toBe('receipt: INVALID (bad_signature: receipt signature does not verify with this key)\n');
    const garbage = await countersign(['receipt', 'verify', 'not-a-receipt', '--public-key', pemFile, '--json']);
    expect(garbage.code).toBe(1);
    expect(JSON.parse(garbage.stdout)).toMatchObject({ ok: false, error: { code: 'malformed' } });
  });

  it('exits 2 on usage errors', async () => {
    const cases = [
      ['receipt'],
      ['receipt', 'nonsense'],
      ['receipt', 'verify'],
      ['receipt', 'verify', receipt, 'extra'],
      ['receipt', 'verify', receipt, '--bogus'],
      ['receipt', 'verify', receipt, '--parameters', join(dir, 'missing.json')],
      ['receipt', 'verify', receipt, '--parameters', join(dir, 'not-json.json')],
      ['receipt', 'verify', receipt, '--public-key', join(dir, 'missing.pem')],
      ['receipt', 'verify', receipt, '--public-key', join(dir, 'params.json')],
      ['receipt', 'verify', receipt, '--action', ''],
      ['receipt', 'verify', receipt, '--action'],
      ['receipt', 'verify', receipt, '--approved-by-humans=yes'],
      // A check given twice is refused, never silently the last one.
      ['receipt', 'verify', receipt, '--environment', 'production', '--environment', 'staging'],
      ['receipt', 'verify', receipt, '--resource', 'a', '--resource=b'],
    ];
    const runs = await Promise.all(cases.map((args) => countersign(args)));
    runs.forEach(({ code, stderr }, i) => {
      expect(code, cases[i]!.join(' ')).toBe(2);
      expect(stderr, cases[i]!.join(' ')).toContain('usage: countersign receipt verify');
    });
    const help = await countersign(['receipt', 'verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('exit codes: 0 the receipt is valid (and matches every check asked for); 1 it is not');
    for (const flag of ['--action a', '--resource r', '--environment e', '--approved-by-humans']) expect(help.stdout).toContain(flag);
  });
});

describe('countersign, the installed command', () => {
  // A child process on purpose: the bin (cli/countersign.mjs loading the CLI through tsx), the process's real stdin,
  // stdout and stderr, and its exit code.
  it('lists every command in its usage: on stdout when asked for, on stderr with exit 2 when no command is given', async () => {
    const { code, stdout } = await runInstalledCli(['--help'], cliOptions({}));
    expect(code).toBe(0);
    for (const command of ['policy check', 'policy explain', 'receipt verify', 'audit show', 'doctor', 'mcp']) expect(stdout).toContain(command);
    const none = await runInstalledCli([], cliOptions({}));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: countersign <command>');
  });

  it('ends quietly, exit 0, when its reader goes away: no EPIPE stack trace', async () => {
    // The reader is gone before anything is written: every write fails with EPIPE.
    const closed = startInstalledCli(['--help'], cliOptions({}));
    closed.child.stdout!.destroy();
    expect(await closed.done).toEqual({ code: 0, stdout: '', stderr: '' });
    // countersign audit export | head -1: the reader takes the first line and closes.
    const exported = startInstalledCli(['audit', 'export'], cliOptions({}));
    const first = await new Promise<string>((resolve) => exported.child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
    exported.child.stdout!.destroy();
    expect(first).toMatch(/^\{"type":"export"/);
    const run = await exported.done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('verifies a receipt read from its stdin, offline', async () => {
    const run = await runInstalledCli(
      ['receipt', 'verify', '-', '--public-key', pemFile],
      cliOptions({ url: `http://127.0.0.1:${await closedPort()}`, input: `${receipt}\n` }),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^receipt: valid\n/);
    expect(run.stdout).toContain(`request      ${id}`);
  });
});
