/**
 * `countersign policy check` and `policy explain`, run in this process (the CLI's main with the test's streams and
 * environment; relative paths are read from the repository root, vitest's working directory).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../fixtures/cli';
import { ROOT } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const countersign = (...args: string[]) => runCliInProcess(args);

describe('countersign policy', () => {
  it('checks the shipped example', async () => {
    const { code, stdout } = await countersign('policy', 'check');
    expect(code).toBe(0);
    expect(stdout).toMatch(/countersign\.config\.yaml: OK \(4 rules, 2 groups, policy version [0-9a-f]{12}\)/);
  });

  it("prints each bad field's path and exits 1", async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nrules:\n  - name: r\n    match: { parameters: { rows: { gt: many } } }\n    effect: nope\n');
    const { code, stderr } = await countersign('policy', 'check', bad);
    expect(code).toBe(1);
    expect(stderr).toContain('rules.0.match.parameters.rows.gt:');
    expect(stderr).toContain('rules.0.effect: expected one of allow, deny, require_approval');
    const json = JSON.parse((await countersign('policy', 'check', bad, '--json')).stdout);
    expect(json.ok).toBe(false);
    expect(json.problems.map((p: { path: string }) => p.path)).toContain('rules.0.effect');
  });

  it('explains which rule decides, why earlier ones did not, and who must approve', async () => {
    const request = join(dir, 'req.json');
    writeFileSync(request, JSON.stringify({ action: 'data.export', environment: 'production', parameters: { table: 'customers' } }));
    const { code, stdout } = await countersign('policy', 'explain', '--request', request);
    expect(code).toBe(0);
    expect(stdout).toContain('rule no-prod-drops: does not match\n    action data.export does not match "db.drop*"');
    expect(stdout).toContain('rule prod-exports: matches -> require_approval');
    expect(stdout).toContain('approval: 2 of alice@example.com, bob@example.com; asked on email; expires after 3600 s');
    const json = JSON.parse((await countersign('policy', 'explain', '--request', request, '--json')).stdout);
    expect(json).toMatchObject({ rule: 'prod-exports', effect: 'require_approval', approval: { minApprovals: 2, channels: ['email'] } });
    writeFileSync(request, JSON.stringify({ action: 'db.drop_table', environment: 'production' }));
    expect((await countersign('policy', 'explain', '--request', request)).stdout).toContain(
      'rule no-prod-drops: matches -> deny (Dropping production databases is never automated.)',
    );
  });

  it('answers for every example in examples/: the policy checks, and each request lands on the rule it is named for', async () => {
    expect((await countersign('policy', 'check', 'examples/policy.yaml')).code).toBe(0);
    const requester: Record<string, string> = { 'prod-iam': 'arn:aws:iam::123456789012:role/ci-deploy' };
    for (const rule of ['no-prod-drops', 'reads', 'big-customer-exports', 'prod-iam', 'default']) {
      const args = ['policy', 'explain', '--config', 'examples/policy.yaml', '--request', `examples/requests/${rule}.json`, '--json'];
      const { stdout } = await countersign(...args, ...(requester[rule] ? ['--requester', requester[rule]!] : []));
      expect(JSON.parse(stdout).rule, rule).toBe(rule);
    }
    const { stdout } = await countersign('policy', 'explain', '--config', 'examples/policy.yaml', '--request', 'examples/requests/big-customer-exports.json');
    expect(stdout).toContain(
      'approval: 1 from data-owners (alice@example.com, bob@example.com) and 1 from security (sec@example.com, bob@example.com); asked on email, slack; expires after 7200 s',
    );
  });

  it("reads the requester and onBehalfOf as intake does: a spelling no identity has is the API's 400, not an explanation", async () => {
    const request = join(dir, 'identities.json');
    writeFileSync(request, JSON.stringify({ action: 'users.read', onBehalfOf: 'arn:aws:iam::bad' }));
    const refused = await countersign('policy', 'explain', '--request', request);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('400 invalid_request');
    expect(refused.stderr).toContain('onBehalfOf');
    writeFileSync(request, JSON.stringify({ action: 'users.read', onBehalfOf: ' Alice@Example.COM ' }));
    const badRequester = await countersign('policy', 'explain', '--request', request, '--requester', 'arn:aws:sts::123:assumed-role/x');
    expect(badRequester.code).toBe(1);
    expect(badRequester.stderr).toContain('requester');
    const ok = await countersign('policy', 'explain', '--request', request, '--requester', 'arn:aws:sts::000000000000:assumed-role/demo-agent/run-1', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ rule: 'read-only', effect: 'allow' });
  });

  it("prints a config's own text terminal-safe: a reason's escape sequence and bidi override are shown, not obeyed", async () => {
    const config = join(dir, 'escapes.yaml');
    writeFileSync(
      config,
      'version: 1\nrules:\n  - { name: shadowed, mode: shadow, match: { action: "x.*" }, effect: deny, reason: "red \\e[31m alert \\u202e txt" }\n  - { name: plain, match: {}, effect: deny, reason: "no \\e]0;title\\a" }\n',
    );
    const request = join(dir, 'escapes-req.json');
    writeFileSync(request, JSON.stringify({ action: 'x.run' }));
    const { code, stdout } = await countersign('policy', 'explain', '--config', config, '--request', request);
    expect(code).toBe(0);
    expect(stdout).toContain('alert');
    for (const raw of ['\u001b', '\u0007', '\u202e']) expect(stdout).not.toContain(raw);
    expect(stdout).toContain('[U+202E]');
  });

  it('explains respellings as the rule they spell, and a value policy cannot judge as the 400 the API answers', async () => {
    const request = join(dir, 'respelled.json');
    const explain = async (body: unknown, ...extra: string[]) => {
      writeFileSync(request, JSON.stringify(body));
      return countersign('policy', 'explain', '--config', 'examples/policy.yaml', '--request', request, ...extra);
    };
    for (const environment of ['Production', 'production ', 'ＰＲＯＤＵＣＴＩＯＮ']) {
      expect((await explain({ action: 'db.drop_table', environment }, '--json')).stdout, environment).toContain('"rule":"no-prod-drops","effect":"deny"');
    }
    const big = JSON.parse(readFileSync(join(ROOT, 'examples/requests/big-customer-exports.json'), 'utf8'));
    const { rows: _rows, format: _format, ...rest } = big.parameters;
    for (const parameters of [
      { rows: '250000', format: 'CSV' },
      { ROWS: [250000], 'format\u200B': ' Parquet ' },
    ]) {
      const { stdout } = await explain({ ...big, parameters: { ...rest, ...parameters } }, '--json');
      expect(JSON.parse(stdout), JSON.stringify(parameters)).toMatchObject({ rule: 'big-customer-exports', effect: 'require_approval' });
    }

    const lots = { ...big, parameters: { ...big.parameters, rows: 'lots', format: ['csv', 'json'] } };
    const text = await explain(lots);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('rule reads: does not match');
    expect(text.stdout).toContain('rule big-customer-exports: cannot judge the request -> refused (400 invalid_request)\n');
    expect(text.stdout).toContain('    parameters.rows is "lots", not a number: policy compares this to a number: send a number\n');
    expect(text.stdout).toContain('    parameters.format is a list of 2 values: policy compares this to one value: send a single string, number or boolean\n');
    expect(text.stdout).not.toMatch(/-> (allow|deny|require_approval)/);
    const json = JSON.parse((await explain(lots, '--json')).stdout);
    expect(json).toMatchObject({
      refused: true,
      status: 400,
      rule: 'big-customer-exports',
      error: { code: 'invalid_request', details: [{ path: 'parameters.rows' }, { path: 'parameters.format' }] },
    });
    expect(json.effect).toBeUndefined();

    const hidden = await explain({ action: 'db.drop_table', environment: 'produc\u200Btion' });
    expect(hidden.stdout).toContain(
      'request refused before any rule (400 invalid_request)\n    environment is "produc[U+200B]tion": holds a hidden character (U+200B)',
    );
  });

  it('is documented by the README, which embeds examples/policy.yaml verbatim', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(readFileSync(join(ROOT, 'examples/policy.yaml'), 'utf8').trim());
  });

  it('refuses a request file that is not an action request', async () => {
    const request = join(dir, 'bad-req.json');
    writeFileSync(request, JSON.stringify({ action: 'Not Valid' }));
    const { code, stderr } = await countersign('policy', 'explain', '--request', request);
    expect(code).toBe(1);
    expect(stderr).toContain('  - action:');
    expect((await countersign('nonsense')).code).toBe(2);
  });
});
