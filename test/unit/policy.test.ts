import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { approverIds, evaluatePolicy, globToRegExp } from '../../lambdas/core/policy';

const config = parseConfig(`
version: 1
groups:
  owners: { members: [{ id: alice@example.com }, { id: bob@example.com }] }
  platform: { members: [{ id: bob@example.com }, { id: dave@example.com }] }
rules:
  - name: no-prod-drops
    match: { action: "db.drop*", environment: production }
    effect: deny
    reason: never
  - name: reads
    match: { action: "*.read" }
    effect: allow
  - name: exports
    match: { action: data.export, environment: [production, staging] }
    effect: require_approval
    approvers: [owners, platform]
    minApprovals: 2
    timeout: 2h
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels: { email: { from: c@example.com } }
`);

describe('evaluatePolicy', () => {
  it.each([
    [{ action: 'db.drop_table', environment: 'production' }, 'no-prod-drops', 'deny'],
    [{ action: 'db.drop', environment: 'production' }, 'no-prod-drops', 'deny'],
    [{ action: 'db.drop_table', environment: 'staging' }, 'default', 'require_approval'],
    [{ action: 'db.drop_table' }, 'default', 'require_approval'],
    [{ action: 'users.read' }, 'reads', 'allow'],
    [{ action: 'users.read.all' }, 'default', 'require_approval'],
    [{ action: 'data.export', environment: 'staging' }, 'exports', 'require_approval'],
    [{ action: 'data.export', environment: 'dev' }, 'default', 'require_approval'],
    [{ action: 'data.exports', environment: 'production' }, 'default', 'require_approval'],
  ])('%j → rule %s (%s)', (request, rule, effect) => {
    const decision = evaluatePolicy(config, request);
    expect(decision.rule).toBe(rule);
    expect(decision.refused ? 'refused' : decision.outcome.effect).toBe(effect);
  });

  it('takes the first matching rule', () => {
    const both = parseConfig(
      'version: 1\nrules:\n  - { name: a, match: { action: "x.*" }, effect: deny }\n  - { name: b, match: { action: "x.y" }, effect: allow }\n',
    );
    expect(evaluatePolicy(both, { action: 'x.y' }).rule).toBe('a');
  });

  it('treats glob metacharacters other than * literally', () => {
    expect(globToRegExp('a.b').test('aXb')).toBe(false);
    expect(globToRegExp('a+(b)').test('a+(b)')).toBe(true);
    expect(globToRegExp('*').test('')).toBe(true);
  });

  it('lists distinct approvers across groups', () => {
    const decision = evaluatePolicy(config, { action: 'data.export', environment: 'production' });
    expect(decision.refused).toBeUndefined();
    expect(approverIds(config, decision.refused ? config.default : decision.outcome).sort()).toEqual([
      'alice@example.com',
      'bob@example.com',
      'dave@example.com',
    ]);
  });
});
