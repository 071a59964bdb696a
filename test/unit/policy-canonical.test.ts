/**
 * Canonical matching and refusals, case by case: the spellings that used to skip a stricter rule, each operator on
 * numbers as text, lists, respelled keys and values it cannot judge, and what `explainPolicy` and the 400 say.
 */

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { evaluatePolicy, explainPolicy, lookupParameter, type PolicyInput, type PolicyVerdict, refusalError } from '../../lambdas/core/policy';

const config = (rules: unknown[], fallback: unknown = { effect: 'allow' }) =>
  parseConfig(
    stringify({
      version: 1,
      groups: { owners: { members: [{ id: 'alice@example.com' }] } },
      channels: { email: { from: 'countersign@example.com' } },
      rules,
      default: fallback,
    }),
  );

/** `rule -> effect`, or `refused rule: path, path`. */
function verdict(v: PolicyVerdict): string {
  return v.refused ? `refused ${v.rule ?? '(fields)'}: ${v.problems.map((p) => p.path).join(', ')}` : `${v.rule} -> ${v.outcome.effect}`;
}

const decide = (cfg: ReturnType<typeof config>, request: Omit<PolicyInput, 'action'> & { action?: string }) =>
  verdict(evaluatePolicy(cfg, { action: 'data.export', ...request }));

describe('the issue: spellings that skipped a deny', () => {
  const policy = config([
    { name: 'no-prod', match: { environment: 'production' }, effect: 'deny' },
    { name: 'big-exports', match: { parameters: { rows: { gt: 10000 }, format: { in: ['csv', 'parquet'] } } }, effect: 'deny' },
    { name: 'the-rest', match: {}, effect: 'allow' },
  ]);

  it.each(['production', 'Production', 'production ', ' PRODUCTION', 'ＰＲＯＤＵＣＴＩＯＮ', '𝐩𝐫𝐨𝐝𝐮𝐜𝐭𝐢𝐨𝐧', 'production\u00A0', '\u3000production'])(
    'environment %j is production',
    (environment) => {
      expect(decide(policy, { environment })).toBe('no-prod -> deny');
    },
  );

  it.each([
    'produc\u200Btion',
    'production\u200D',
    '\u202Eproduction',
    'prod\u00ADuction',
    '\uFEFFproduction',
    'production\u0000',
    'production\t',
    'production\n',
  ])('environment %j is refused, naming the field', (environment) => {
    const v = evaluatePolicy(policy, { action: 'data.export', environment });
    expect(verdict(v)).toBe('refused (fields): environment');
    const body = refusalError(v as Extract<PolicyVerdict, { refused: true }>).toBody();
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.details[0]).toMatchObject({ path: 'environment', message: expect.stringMatching(/^holds a hidden character \(U\+[0-9A-F]{4}\)/) });
  });

  it('refuses hidden characters in resource, onBehalfOf and agent.name too, each named', () => {
    const v = evaluatePolicy(policy, {
      action: 'x.y',
      resource: 'arn:aws:s3:::prod\u200B-x',
      onBehalfOf: 'carol@example.com\u2066',
      agent: { name: 'bot\u202E' },
    });
    expect(verdict(v)).toBe('refused (fields): resource, onBehalfOf, agent.name');
  });

  it.each([
    [{ rows: 50000, format: 'csv' }],
    [{ rows: '50000', format: 'csv' }],
    [{ rows: [50000], format: 'csv' }],
    [{ rows: 50000, format: 'CSV' }],
    [{ rows: ' 5e4 ', format: ['Parquet'] }],
    [{ rows: '+50000', format: 'ｃｓｖ' }],
    [{ rows: '50000.0', format: 'csv\u200B' }],
    [{ rows: [['５００００']], format: ' csv ' }],
    [{ ROWS: 50000, 'format\u200B': 'csv' }],
    [{ ｒｏｗｓ: 50000, ' Format ': 'csv' }],
  ])('parameters %j are a big export', (parameters) => {
    expect(decide(policy, { parameters })).toBe('big-exports -> deny');
  });

  it.each([
    [{ rows: 'lots', format: 'csv' }, 'parameters.rows'],
    [{ rows: '50,000', format: 'csv' }, 'parameters.rows'],
    [{ rows: '0x10000', format: 'csv' }, 'parameters.rows'],
    [{ rows: 'Infinity', format: 'csv' }, 'parameters.rows'],
    [{ rows: '1e400', format: 'csv' }, 'parameters.rows'],
    [{ rows: '', format: 'csv' }, 'parameters.rows'],
    [{ rows: true, format: 'csv' }, 'parameters.rows'],
    [{ rows: null, format: 'csv' }, 'parameters.rows'],
    [{ rows: { value: 50000 }, format: 'csv' }, 'parameters.rows'],
    [{ rows: [1, 50000], format: 'csv' }, 'parameters.rows'],
    [{ rows: [], format: 'csv' }, 'parameters.rows'],
    [{ rows: 50000, format: ['csv', 'json'] }, 'parameters.format'],
    [{ rows: 'lots', format: { type: 'csv' } }, 'parameters.rows, parameters.format'],
    [{ rows: 50000, Rows: 1, format: 'csv' }, 'parameters.rows'],
  ])('parameters %j cannot be judged: refused, not allowed by the next rule', (parameters, paths) => {
    expect(decide(policy, { parameters })).toBe(`refused big-exports: ${paths}`);
  });

  it('skips a rule that has a false condition, whatever else it cannot judge', () => {
    expect(decide(policy, { parameters: { rows: 'lots', format: 'json' } })).toBe('the-rest -> allow');
    expect(decide(policy, { parameters: { rows: 5, format: ['csv', 'json'] } })).toBe('the-rest -> allow');
    expect(decide(policy, { parameters: { rows: 50000 } })).toBe('the-rest -> allow');
  });

  it('lets an earlier rule decide before a later one that cannot judge', () => {
    expect(decide(policy, { environment: 'Production', parameters: { rows: 'lots', format: 'csv' } })).toBe('no-prod -> deny');
  });

  it('answers 400 naming each parameter and what the rule needs, without its bounds', () => {
    const v = evaluatePolicy(policy, { action: 'data.export', parameters: { rows: 'lots', format: ['csv', 'json'] } });
    expect(v.refused).toBe(true);
    const error = refusalError(v as Extract<PolicyVerdict, { refused: true }>);
    expect(error.status).toBe(400);
    expect(error.toBody().error).toEqual({
      code: 'invalid_request',
      message: 'policy cannot judge parameters.rows, parameters.format as sent (rule big-exports): send values it can compare',
      details: [
        { path: 'parameters.rows', message: 'policy compares this to a number: send a number' },
        { path: 'parameters.format', message: 'policy compares this to one value: send a single string, number or boolean' },
      ],
    });
    expect(JSON.stringify(error.toBody())).not.toContain('10000');
  });
});

describe('each operator, in canonical form', () => {
  const only = (condition: Record<string, unknown>) => config([{ name: 'r', match: { parameters: { p: condition } }, effect: 'deny' }]);
  const on = (condition: Record<string, unknown>, p: unknown) => decide(only(condition), { parameters: p === undefined ? {} : { p } });
  const MATCH = 'r -> deny';
  const SKIP = 'default -> allow';
  const REFUSED = 'refused r: parameters.p';

  it.each([
    // equals: canonical text; numbers and numeric text as numbers; booleans and "true"/"false".
    [{ equals: 'Public' }, 'public', MATCH],
    [{ equals: 'public' }, ' PUBLIC\u200B', MATCH],
    [{ equals: 'public' }, ['public'], MATCH],
    [{ equals: 'public' }, 'private', SKIP],
    [{ equals: 'public' }, undefined, SKIP],
    [{ equals: 'public' }, ['public', 'x'], REFUSED],
    [{ equals: 'public' }, null, REFUSED],
    [{ equals: 10 }, '10', MATCH],
    [{ equals: 10 }, '10.0', MATCH],
    [{ equals: 10 }, '1e1', MATCH],
    [{ equals: '10' }, 10, MATCH],
    [{ equals: 10 }, 11, SKIP],
    [{ equals: true }, 'TRUE', MATCH],
    [{ equals: true }, ' true ', MATCH],
    [{ equals: true }, [true], MATCH],
    [{ equals: true }, 'yes', SKIP],
    [{ equals: false }, 'False', MATCH],
    // in
    [{ in: ['csv', 'parquet'] }, 'PARQUET', MATCH],
    [{ in: ['csv', 2] }, '2.0', MATCH],
    [{ in: ['csv'] }, 'json', SKIP],
    [{ in: ['csv'] }, { f: 'csv' }, REFUSED],
    // not: holds for a different value and for an absent one
    [{ not: true }, 'True', SKIP],
    [{ not: true }, false, MATCH],
    [{ not: true }, undefined, MATCH],
    [{ not: ['a', 'b'] }, ' B ', SKIP],
    [{ not: ['a', 'b'] }, 'c', MATCH],
    [{ not: true }, [true, true], REFUSED],
    [{ not: true }, null, REFUSED],
    // exists: any value, null included; a respelled key exists
    [{ exists: true }, null, MATCH],
    [{ exists: true }, [1, 2], MATCH],
    [{ exists: true }, undefined, SKIP],
    [{ exists: false }, undefined, MATCH],
    [{ exists: false }, 0, SKIP],
    // gt, gte, lt, lte: numbers and plain decimal text
    [{ gt: 10 }, 11, MATCH],
    [{ gt: 10 }, '11', MATCH],
    [{ gt: 10 }, 10, SKIP],
    [{ gte: 10 }, ' 10 ', MATCH],
    [{ gte: 10 }, '1e1', MATCH],
    [{ lt: 10 }, '-5', MATCH],
    [{ lt: 10 }, '.5', MATCH],
    [{ lt: 10 }, 10, SKIP],
    [{ lte: 10 }, [10], MATCH],
    [{ lte: 10 }, undefined, SKIP],
    [{ gt: 10 }, 'ten', REFUSED],
    [{ gt: 10 }, '１１', MATCH],
    [{ gt: 10 }, '١١', REFUSED],
    [{ gt: 10 }, '1_000', REFUSED],
    [{ gt: 10 }, false, REFUSED],
    [{ gt: 10, lt: 100 }, 50, MATCH],
    [{ gt: 10, lt: 100 }, 500, SKIP],
    // glob: canonical text; numbers and booleans by their text; numeric text that reads differently as a number cannot be judged
    [{ glob: 'cust*' }, 'Customers', MATCH],
    [{ glob: 'cust*' }, 'ｃｕｓｔｏｍｅｒｓ', MATCH],
    [{ glob: 'cust*' }, 'c\u200Bustomers', MATCH],
    [{ glob: 'cust*' }, 'orders', SKIP],
    [{ glob: 'office *' }, 'Office   Files', MATCH],
    [{ glob: '5*' }, 50000, MATCH],
    [{ glob: '5*' }, '50000', MATCH],
    [{ glob: '5*' }, '5e4', MATCH],
    [{ glob: '50*' }, '5e4', REFUSED],
    [{ glob: 'tr*' }, true, MATCH],
    [{ glob: 'cust*' }, ['customers', 'orders'], REFUSED],
    [{ glob: 'cust*' }, { name: 'customers' }, REFUSED],
  ])('%j on %j: %s', (condition, value, expected) => {
    expect(on(condition, value)).toBe(expected);
  });
});

describe('parameter paths and keys', () => {
  const policy = config([{ name: 'prod-db', match: { parameters: { 'db.host': { equals: 'prod-db' } } }, effect: 'deny' }]);

  it.each([
    [{ db: { host: 'prod-db' } }, 'prod-db -> deny'],
    [{ DB: { Host: 'PROD-DB' } }, 'prod-db -> deny'],
    [{ db: [{ host: 'prod-db' }] }, 'prod-db -> deny'],
    [{ db: [[{ host: ['prod-db'] }]] }, 'prod-db -> deny'],
    [{ 'db.host': 'prod-db' }, 'prod-db -> deny'],
    [{ ' DB . HOST ': 'prod-db' }, 'prod-db -> deny'],
    [{ 'db．host': 'prod-db' }, 'prod-db -> deny'],
    [{ db: { host: 'dev-db' } }, 'default -> allow'],
    [{ db: 'prod-db' }, 'default -> allow'],
    [{ db: [{ host: 'prod-db' }, { host: 'dev-db' }] }, 'refused prod-db: parameters.db.host'],
    [{ db: { host: 'prod-db' }, 'db.host': 'dev-db' }, 'refused prod-db: parameters.db.host'],
    [{ db: { host: 'prod-db', HOST: 'dev-db' } }, 'refused prod-db: parameters.db.host'],
    [{ db: { host: 'prod-db' }, Db: {} }, 'refused prod-db: parameters.db.host'],
  ])('%j → %s', (parameters, expected) => {
    expect(decide(policy, { parameters })).toBe(expected);
  });

  it('names the colliding keys and the list in what the agent is told', () => {
    expect(lookupParameter({ rows: 1, Rows: 2 }, 'rows')).toMatchObject({
      kind: 'unjudged',
      needs: 'parameters holds both "rows" and "Rows", which policy reads as one key: send it once',
    });
    expect(lookupParameter({ db: [{}, {}] }, 'db.host')).toMatchObject({
      kind: 'unjudged',
      needs: 'policy reads host inside parameters.db: send one object there, not a list',
    });
    expect(lookupParameter(JSON.parse('{"__proto__": {"x": 1}}'), '__proto__.x')).toEqual({ kind: 'present', value: 1 });
    expect(lookupParameter({}, 'constructor')).toEqual({ kind: 'absent' });
  });
});

describe('globs and identities, in canonical form', () => {
  const policy = config([
    { name: 'ci', match: { requester: 'arn:aws:iam::*:role/CI-*' }, effect: 'deny' },
    { name: 'prod-buckets', match: { resource: 'arn:aws:s3:::prod-*' }, effect: 'deny' },
    { name: 'analysts', match: { agent: { name: 'Analyst-*' }, onBehalfOf: '*@example.com' }, effect: 'require_approval', approvers: ['owners'] },
  ]);

  it.each([
    [{ requester: 'arn:aws:iam::123456789012:role/ci-deploy' }, 'ci -> deny'],
    [{ requester: 'arn:aws:sts::123456789012:assumed-role/ci-deploy/run-42' }, 'ci -> deny'],
    [{ requester: 'ARN:AWS:STS::123456789012:ASSUMED-ROLE/CI-Deploy/run-42' }, 'ci -> deny'],
    [{ requester: 'arn:aws:iam::123456789012:role/apps/ci-deploy' }, 'ci -> deny'],
    [{ requester: 'arn:aws:iam::123456789012:role/dev' }, 'default -> allow'],
    [{ resource: 'ARN:AWS:S3:::PROD-logs' }, 'prod-buckets -> deny'],
    [{ resource: ' arn:aws:s3:::ｐｒｏｄ-logs ' }, 'prod-buckets -> deny'],
    [{ resource: 'arn:aws:s3:::dev-logs' }, 'default -> allow'],
    [{ agent: { name: 'analyst-bot' }, onBehalfOf: 'Carol@Example.COM' }, 'analysts -> require_approval'],
    [{ agent: { name: ' ANALYST-bot ' }, onBehalfOf: 'carol＠example.com' }, 'analysts -> require_approval'],
    [{ agent: { name: 'analyst-bot' }, onBehalfOf: 'carol@other.org' }, 'default -> allow'],
  ])('%j → %s', (request, expected) => {
    expect(decide(policy, request)).toBe(expected);
  });
});

describe('explainPolicy', () => {
  const policy = config([
    { name: 'no-prod', match: { environment: 'production' }, effect: 'deny' },
    { name: 'big-exports', match: { parameters: { rows: { gt: 10000 } } }, effect: 'deny' },
    { name: 'the-rest', match: {}, effect: 'allow' },
  ]);

  it('shows the rules skipped, the rule that cannot judge, and each parameter with what it holds and needs', () => {
    expect(explainPolicy(policy, { action: 'x', environment: 'staging', parameters: { rows: 'lots' } })).toEqual({
      refused: true,
      rule: 'big-exports',
      problems: [{ path: 'parameters.rows', is: 'is "lots", not a number', needs: 'policy compares this to a number: send a number' }],
      skipped: [{ rule: 'no-prod', because: ['environment staging is not production'] }],
    });
  });

  it('shows a field refused before any rule, its hidden characters marked', () => {
    expect(explainPolicy(policy, { action: 'x', environment: 'prod\u202Euction' })).toEqual({
      refused: true,
      problems: [
        {
          path: 'environment',
          is: 'is "prod[U+202E]uction"',
          needs: 'holds a hidden character (U+202E): send it without invisible, bidi or control characters',
        },
      ],
      skipped: [],
    });
  });
});
