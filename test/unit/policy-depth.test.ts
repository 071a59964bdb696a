import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ConfigError } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { evaluatePolicy, explainPolicy, parameterAt } from '../../lambdas/core/policy';
import { quorumShortfall } from '../../lambdas/core/quorum';

const config = parseConfig(
  stringify({
    version: 1,
    groups: {
      owners: { members: [{ id: 'alice@example.com' }, { id: 'bob@example.com' }] },
      security: { members: [{ id: 'bob@example.com' }, { id: 'sec@example.com' }] },
    },
    channels: { email: { from: 'c@example.com' } },
    rules: [
      {
        name: 'big-exports',
        match: { action: 'data.export', parameters: { rows: { gt: 10000 }, format: { in: ['csv', 'parquet'] } } },
        effect: 'require_approval',
        require: [
          { group: 'owners', min: 1 },
          { group: 'security', min: 1 },
        ],
      },
      {
        name: 'ci-prod',
        match: { requester: 'arn:aws:iam::*:role/ci-*', resource: 'arn:aws:s3:::prod-*' },
        effect: 'deny',
        reason: 'CI may not touch prod buckets',
      },
      {
        name: 'bots',
        match: { agent: { name: 'analyst-*' }, onBehalfOf: '*@example.com', parameters: { 'dry.run': { not: true }, table: { exists: true, glob: 'cust*' } } },
        effect: 'allow',
      },
    ],
    default: { effect: 'deny' },
  }),
);

describe('policy conditions', () => {
  it.each([
    [{ action: 'data.export', parameters: { rows: 20000, format: 'csv' } }, 'big-exports'],
    [{ action: 'data.export', parameters: { rows: 10000, format: 'csv' } }, 'default'],
    [{ action: 'data.export', parameters: { rows: '20000', format: 'csv' } }, 'big-exports'],
    [{ action: 'data.export', parameters: { rows: 20000, format: 'json' } }, 'default'],
    [{ action: 'x', requester: 'arn:aws:iam::1:role/ci-deploy', resource: 'arn:aws:s3:::prod-logs' }, 'ci-prod'],
    [{ action: 'x', requester: 'arn:aws:iam::1:role/dev', resource: 'arn:aws:s3:::prod-logs' }, 'default'],
    [{ action: 'x', agent: { name: 'analyst-bot' }, onBehalfOf: 'carol@example.com', parameters: { table: 'customers' } }, 'bots'],
    [{ action: 'x', agent: { name: 'analyst-bot' }, onBehalfOf: 'carol@example.com', parameters: { table: 'customers', dry: { run: true } } }, 'default'],
    [{ action: 'x', agent: { name: 'analyst-bot' }, onBehalfOf: 'carol@example.com', parameters: { table: 'orders' } }, 'default'],
    [{ action: 'x', agent: { name: 'other' }, onBehalfOf: 'carol@example.com', parameters: { table: 'customers' } }, 'default'],
    [{ action: 'x', agent: { name: 'analyst-bot' }, parameters: { table: 'customers' } }, 'default'],
  ])('%j → %s', (request, rule) => {
    expect(evaluatePolicy(config, request).rule).toBe(rule);
  });

  it('explains why each earlier rule did not match', () => {
    const explained = explainPolicy(config, {
      action: 'data.export',
      parameters: { rows: 5, format: 'xml' },
      agent: { name: 'analyst-1' },
      onBehalfOf: 'c@example.com',
      parameters2: 1,
    } as never);
    expect(explained.rule).toBe('default');
    expect(explained.skipped[0]).toEqual({
      rule: 'big-exports',
      because: ['parameters.rows is 5, not > 10000', 'parameters.format is "xml", not one of ["csv","parquet"]'],
    });
    expect(explained.skipped[1]!.because).toEqual([
      'resource (none) does not match "arn:aws:s3:::prod-*"',
      'requester (none) does not match "arn:aws:iam::*:role/ci-*"',
    ]);
    expect(explained.skipped[2]!.because).toEqual(['parameters.table is absent']);
  });

  it('reads parameter paths through own keys only', () => {
    expect(parameterAt({ a: { b: 1 } }, 'a.b')).toBe(1);
    expect(parameterAt({ a: 1 }, 'a.b')).toBeUndefined();
    expect(parameterAt({}, 'constructor')).toBeUndefined();
    expect(parameterAt(JSON.parse('{"__proto__": {"x": 1}}'), '__proto__.x')).toBe(1);
  });

  it('validates conditions and quorums at load, naming the path', () => {
    const bad = (rule: object) => {
      try {
        parseConfig(
          stringify({
            version: 1,
            groups: { g: { members: [{ id: 'a@example.com' }] } },
            channels: { email: { from: 'c@example.com' } },
            rules: [{ name: 'r', effect: 'allow', ...rule }],
          }),
        );
      } catch (err) {
        return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      }
      return [];
    };
    expect(bad({ match: { parameters: { rows: { gt: 'many' } } } })[0]).toMatch(/^rules\.0\.match\.parameters\.rows\.gt: /);
    expect(bad({ match: { parameters: { rows: {} } } })[0]).toMatch(/^rules\.0\.match\.parameters\.rows: a condition needs/);
    expect(bad({ match: { parameters: { rows: { bigger: 1 } } } })).toContain('rules.0.match.parameters.rows: unknown field(s): bigger');
    expect(bad({ match: { agent: { version: '1' } } })).toEqual([
      'rules.0.match.agent.name: Invalid input: expected string, received undefined',
      'rules.0.match.agent: unknown field(s): version',
    ]);
    expect(bad({ match: { user: 'x' } })).toEqual(['rules.0.match: unknown field(s): user']);
    expect(bad({ match: {}, effect: 'require_approval', require: [{ group: 'g', min: 2 }] })).toEqual([
      'rules.0.require.0.min: needs 2 but group "g" has 1 members',
    ]);
    expect(bad({ match: {}, effect: 'require_approval', require: [{ group: 'nope', min: 1 }] })).toEqual(['rules.0.require.0.group: unknown group "nope"']);
    expect(bad({ match: {}, effect: 'require_approval', approvers: ['g'], require: [{ group: 'g', min: 1 }] })).toEqual([
      'rules.0.require: use either require or approvers with minApprovals, not both',
    ]);
  });
});

describe('quorum across teams', () => {
  const require = [
    { group: 'owners', min: 1, members: ['alice', 'bob'] },
    { group: 'security', min: 1, members: ['bob', 'sec'] },
  ];
  it('counts a person in two groups once', () => {
    expect(quorumShortfall(require, [])).toEqual([
      { group: 'owners', more: 1 },
      { group: 'security', more: 1 },
    ]);
    expect(quorumShortfall(require, ['bob']).reduce((n, m) => n + m.more, 0)).toBe(1);
    expect(quorumShortfall(require, ['bob', 'alice'])).toEqual([]);
    expect(quorumShortfall(require, ['alice', 'bob'])).toEqual([]);
    expect(quorumShortfall(require, ['alice'])).toEqual([{ group: 'security', more: 1 }]);
    expect(quorumShortfall(require, ['alice', 'sec'])).toEqual([]);
    expect(quorumShortfall(require, ['mallory'])).toHaveLength(2);
  });
});
