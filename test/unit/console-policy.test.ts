/**
 * The console's policy page (`GET /console/policy`): the loaded policy shown readably and escaped, and its explain
 * form, which reads a request as the API does (400 for what the API refuses), explains it in the CLI's words, and
 * matches respellings as policy does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HttpEvent, HttpResult } from '../../lambdas/adapters/http';
import { policyVersion } from '../../lambdas/adapters/policy-version';
import { showPolicy } from '../../lambdas/console/policy';
import type { Viewer } from '../../lambdas/console/viewer';
import type { Config } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { runCliInProcess } from '../fixtures/cli';
import { memoryPolicy, memoryPorts } from '../fixtures/memory-ports';

const ROOT = join(import.meta.dirname, '../..');
const SHIPPED = parseConfig(readFileSync(join(ROOT, 'countersign.config.yaml'), 'utf8'));
const EXAMPLE = parseConfig(readFileSync(join(ROOT, 'examples/policy.yaml'), 'utf8'));

const VIEWER: Viewer = { principal: 'alice@example.com', via: 'credentials', auditor: false, approver: true, csrf: 'csrf-token' };

function event(query?: Record<string, string>): HttpEvent {
  return {
    routeKey: 'GET /console/policy',
    rawPath: '/console/policy',
    headers: {},
    requestContext: { http: { method: 'GET' } },
    ...(query ? { queryStringParameters: query } : {}),
  } as unknown as HttpEvent;
}

async function page(config: Config, query?: Record<string, string>): Promise<HttpResult & { body: string; statusCode: number }> {
  const ports = { ...memoryPorts(config), policy: memoryPolicy(config, policyVersion(config)) };
  const result = await showPolicy(event(query), {
    ports,
    viewer: VIEWER,
    exportSource: () => {
      throw new Error('the policy page reads no ledger');
    },
  });
  return result as HttpResult & { body: string; statusCode: number };
}

/** The page's visible text, roughly: tags dropped, entities decoded, white space collapsed. */
function visible(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>|<script>[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .replace(/ ([,;:)])/g, '$1');
}

/** The section between two test ids' elements. */
const section = (html: string, testid: string) => {
  const start = html.indexOf(`data-testid="${testid}"`);
  expect(start, testid).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
};

/** The HTML with the form's own echo of the input (attribute values and the textarea) left out. */
const outsideForm = (html: string) => html.replace(/value="[^"]*"/g, '').replace(/<textarea[^>]*>[^<]*<\/textarea>/g, '');

describe('the policy page', () => {
  it('shows the policy version as decisions record it, the groups with members, the rules in order and the default', async () => {
    const { statusCode, body, headers } = await page(EXAMPLE);
    expect(statusCode).toBe(200);
    expect(headers?.['content-security-policy']).toContain("default-src 'none'");
    expect(body).toContain(
      `<code class="version" data-testid="policy-version" style="overflow-wrap:anywhere;word-break:break-all">${policyVersion(EXAMPLE)}</code>`,
    );
    expect(body).not.toContain('data-testid="explain-result"');

    const rules = [...body.matchAll(/data-testid="rule" id="rule-([^"]+)"/g)].map((m) => m[1]);
    expect(rules).toEqual(['no-prod-drops', 'reads', 'trial-prod-exports', 'big-customer-exports', 'prod-iam']);
    const text = visible(body);
    expect(text).toContain('1. no-prod-drops deny');
    expect(text).toContain('3. trial-prod-exports require approval shadow: on trial, recorded but not enforced');
    expect(text).toContain('action matches db.drop* environment is production');
    expect(text).toContain('Reason Dropping production databases is never automated.');
    expect(text).toContain('parameters.rows > 10000');
    expect(text).toContain('parameters.format is one of "csv", "parquet"');
    expect(text).toContain('parameters.dryRun is not true');
    expect(text).toContain('parameters.table is present and matches cust*');
    expect(text).toContain('agent.name matches analyst-*');
    expect(text).toContain('Approvals 1 from data-owners (alice@example.com, bob@example.com) and 1 from security (sec@example.com, bob@example.com)');
    expect(text).toContain('Asked on email, slack Expires after 2h');
    expect(text).toContain('Also masks parameters.*.password');
    // prod-iam: quorum, reminders, escalation and step-up.
    expect(text).toContain('Approvals 2 of dave@example.com, erin@example.com Asked on email, slack, teams Expires after 4h');
    expect(text).toContain('Reminders every 30m, to approvers who have not voted');
    expect(text).toContain('Escalation after 2h without an outcome, also asks security');
    expect(text).toContain('Sign-in required, even on personal review links');
    expect(text).toContain('Redeem within 15m of the approval, or it lapses');

    const defaults = visible(section(body, 'default'));
    expect(defaults).toContain('Effect require approval');
    expect(defaults).toContain('Approvals 1 of alice@example.com, bob@example.com');
    expect(defaults).toContain('Expires after 1h');

    const groups = visible(section(body, 'groups'));
    expect(groups).toContain('data-owners alice@example.com (Slack U0ALICE) bob@example.com');
    expect(groups).toContain('platform dave@example.com erin@example.com');
    expect(visible(section(body, 'auditors'))).toContain('audit@example.com');
  });

  it('escapes what the config holds and marks its hidden characters', async () => {
    const config = parseConfig(
      `version: 1
groups: { g: { members: [{ id: a@example.com }] } }
rules:
  - name: hostile
    match: { resource: "<img src=x onerror=alert(1)>", parameters: { note: { equals: "</code><script>alert(2)</script>" } } }
    effect: deny
    reason: "<script>alert(3)</script> \u202Eevil"
default: { effect: deny }
`,
    );
    const { body } = await page(config);
    expect(body).not.toMatch(/<img|<script>alert/);
    expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(body).toContain('&lt;script&gt;alert(3)&lt;/script&gt;');
    expect(body).not.toContain('\u202E');
    expect(body).toContain('<span class="hidden-char" title="invisible character U+202E">U+202E</span>');
  });
});

describe('the explain form', () => {
  it('says which rule decides, why each earlier one did not, and who must approve, in the words of countersign policy explain', async () => {
    const request = JSON.parse(readFileSync(join(ROOT, 'examples/requests/big-customer-exports.json'), 'utf8'));
    const { statusCode, body } = await page(EXAMPLE, {
      action: request.action,
      environment: request.environment,
      resource: request.resource,
      onBehalfOf: request.onBehalfOf,
      agent: request.agent.name,
      parameters: JSON.stringify(request.parameters),
      requester: '',
    });
    expect(statusCode).toBe(200);
    const result = visible(section(body, 'explain-result'));
    const cli = await runCliInProcess(['policy', 'explain', '--config', 'examples/policy.yaml', '--request', 'examples/requests/big-customer-exports.json']);
    expect(cli.code).toBe(0);
    const lines = cli.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('approval:'));
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(result, line).toContain(line);
    expect(result).toContain('rule big-customer-exports: matches -> require_approval');
    expect(result).toContain('Approval required: 1 from data-owners (alice@example.com, bob@example.com) and 1 from security');
    expect(result).toContain('Asked on email, slack Expires after 2h');
    // The form keeps what was asked.
    expect(body).toContain(`value="${request.resource}"`);
  });

  it('shows the default deciding, and an allow and a deny as what they are', async () => {
    const fallback = visible(section((await page(SHIPPED, { action: 'reports.generate' })).body, 'explain-result'));
    expect(fallback).toContain('rule default: no rule matched; the default decides -> require_approval');
    expect(fallback).toContain('rule infra-changes: does not match action reports.generate does not match "infra.*"');
    const deny = visible(section((await page(SHIPPED, { action: 'db.drop_table', environment: 'production' })).body, 'explain-result'));
    expect(deny).toContain('deny Denied at once: no approver is asked.');
    expect(deny).toContain('rule no-prod-drops: matches -> deny (Dropping production databases is never automated.)');
    const allow = visible(section((await page(SHIPPED, { action: 'users.read' })).body, 'explain-result'));
    expect(allow).toContain('allow Allowed at once');
  });

  it('matches respelled values as policy does', async () => {
    for (const environment of ['production', 'Production', ' production ', 'ＰＲＯＤＵＣＴＩＯＮ']) {
      const { statusCode, body } = await page(SHIPPED, { action: 'data.export', environment });
      expect(statusCode, environment).toBe(200);
      expect(visible(section(body, 'explain-result')), environment).toContain('rule prod-exports: matches -> require_approval');
    }
    const big = JSON.parse(readFileSync(join(ROOT, 'examples/requests/big-customer-exports.json'), 'utf8'));
    const { rows: _rows, format: _format, ...rest } = big.parameters;
    for (const parameters of [
      { rows: '250000', format: 'CSV' },
      { ROWS: [250000], 'format\u200B': ' Parquet ' },
    ]) {
      const { body } = await page(EXAMPLE, {
        action: big.action,
        resource: big.resource,
        onBehalfOf: big.onBehalfOf,
        agent: big.agent.name,
        parameters: JSON.stringify({ ...rest, ...parameters }),
      });
      expect(visible(section(body, 'explain-result')), JSON.stringify(parameters)).toContain('rule big-customer-exports: matches -> require_approval');
    }
    // A requester spelled another way is the same principal: a session of a ci- role.
    const iam = await page(EXAMPLE, {
      action: 'iam.attach_role_policy',
      environment: 'Staging',
      requester: 'ARN:AWS:STS::123456789012:assumed-role/ci-deploy/run-1',
    });
    expect(visible(section(iam.body, 'explain-result'))).toContain('rule prod-iam: matches -> require_approval');
  });

  it('shows a rule that cannot judge the request as the refusal it is, and tries nothing after it', async () => {
    const big = JSON.parse(readFileSync(join(ROOT, 'examples/requests/big-customer-exports.json'), 'utf8'));
    const { statusCode, body } = await page(EXAMPLE, {
      action: big.action,
      resource: big.resource,
      onBehalfOf: big.onBehalfOf,
      agent: big.agent.name,
      parameters: JSON.stringify({ ...big.parameters, rows: 'lots' }),
    });
    expect(statusCode).toBe(200);
    const result = visible(section(body, 'explain-result'));
    expect(result).toContain('rule big-customer-exports: cannot judge the request -> refused (400 invalid_request)');
    expect(result).toContain('parameters.rows is "lots", not a number: policy compares this to a number: send a number');
    expect(result).toContain('Refused: the API answers 400 invalid_request');
    expect(result).not.toMatch(/-> (allow|deny|require_approval)/);
    expect(result).not.toContain('rule prod-iam');
  });

  it.each([
    ['invalid JSON', { action: 'data.export', parameters: '{"rows": 5,' }, /parameters: is not valid JSON \(.+\): write a JSON object/],
    ['JSON that is no object', { action: 'data.export', parameters: '[1, 2]' }, /parameters: must be a JSON object/],
    ['a key given twice', { action: 'data.export', parameters: '{"rows": 1, "rows": 2}' }, /parameters: repeats the key parameters\.rows/],
    ['a prototype key', { action: 'data.export', parameters: '{"__proto__": {"x": 1}}' }, /parameters\.__proto__: "__proto__" is not allowed as a key/],
    ['a missing action', { environment: 'production' }, /action: /],
    ['an action the API refuses', { action: 'Data Export<script>' }, /action: expected 1-128 characters of a-z 0-9 _ \.: -/],
    ['a requester that is no identity', { action: 'data.export', requester: 'arn:aws:s3:::bucket' }, /requester: it is not an IAM or STS principal ARN/],
    ['an overlong environment', { action: 'data.export', environment: 'x'.repeat(129) }, /environment: /],
  ])('answers 400 with what to fix for %s, keeping the form', async (_name, query, message) => {
    const { statusCode, body } = await page(SHIPPED, query);
    expect(statusCode).toBe(400);
    const problems = body.slice(body.indexOf('data-testid="explain-problems"'), body.indexOf('</div>', body.indexOf('data-testid="explain-problems"')));
    expect(visible(problems)).toMatch(/The API would refuse this request \(400 invalid_request\)/);
    expect(visible(problems)).toMatch(message);
    expect(body).not.toContain('data-testid="explain-result"');
    expect(body).toContain('data-testid="explain-form"');
    expect(body).toContain('data-testid="rules"');
  });

  it('refuses hidden characters and look-alike words where policy compares names, marking them, never echoing them raw', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ action: 'data.export', environment: 'produc\u200Btion' }, 'environment: is "produc[U+200B]tion": holds a hidden character (U+200B)'],
      [{ action: 'data.export', resource: 'db\u202Etxt.exe' }, 'resource: is "db[U+202E]txt.exe": holds a hidden character (U+202E)'],
      [{ action: 'data.export', agent: 'analyst\u2066-bot' }, 'agent.name: is "analyst[U+2066]-bot": holds a hidden character (U+2066)'],
      [{ action: 'data.export', environment: 'рroduction' }, 'environment: is "рroduction": mixes look-alike letters of several scripts'],
      [{ action: 'data.export', requester: 'alice\u200B@example.com' }, 'requester: it holds a hidden character'],
    ];
    for (const [query, words] of cases) {
      const { statusCode, body } = await page(SHIPPED, query);
      expect(statusCode, words).toBe(400);
      expect(visible(body), words).toContain(words);
      expect(outsideForm(body), words).not.toMatch(/[\u200B\u202E\u2066]/);
    }
    // In a value policy reads, a hidden character is shown marked.
    const { body } = await page(SHIPPED, { action: 'data.export', environment: 'production', parameters: '{"note": "a\u202Eb"}' });
    expect(outsideForm(body)).not.toContain('\u202E');
    expect(section(body, 'explain-result')).toContain('<span class="hidden-char" title="invisible character U+202E">U+202E</span>');
  });

  it('reads onBehalfOf as intake does: a 400 for what is no identity, the canonical spelling for the rest', async () => {
    for (const onBehalfOf of ['a@b@c', '<b>x</b>', 'arn:aws:iam::1:role/x']) {
      const { statusCode, body } = await page(SHIPPED, { action: 'data.export', onBehalfOf });
      expect(statusCode, onBehalfOf).toBe(400);
      expect(visible(body), onBehalfOf).toContain('onBehalfOf');
      expect(body, onBehalfOf).not.toContain('data-testid="explain-result"');
    }
    const { statusCode, body } = await page(SHIPPED, { action: 'data.export', environment: 'production', onBehalfOf: 'ALICE@EXAMPLE.COM' });
    expect(statusCode).toBe(200);
    expect(section(body, 'explain-result')).not.toBe('');
  });

  it('escapes markup in every field it echoes', async () => {
    const hostile = '"><script>alert(1)</script>';
    const { body } = await page(SHIPPED, {
      action: 'data.export',
      environment: hostile,
      resource: hostile,
      onBehalfOf: 'carol@example.com',
      agent: hostile,
      parameters: JSON.stringify({ note: hostile }),
    });
    expect(body).not.toContain('<script>alert(1)');
    expect(body).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(visible(section(body, 'explain-result'))).toContain('rule default: no rule matched; the default decides');
  });
});
