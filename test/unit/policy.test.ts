import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { approverIds, evaluatePolicy, globTest } from '../../lambdas/core/policy';

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
    expect(globTest('a.b', 'aXb')).toBe(false);
    expect(globTest('a+(b)', 'a+(b)')).toBe(true);
    expect(globTest('*', '')).toBe(true);
  });

  it('matches globs as the regular expression they stand for would, without its backtracking', () => {
    const asRegExp = (glob: string) =>
      new RegExp(
        `^${glob
          .split('*')
          .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
        's',
      );
    const alphabet = ['a', 'b', '*', '.', '\n'];
    let seed = 7;
    const pick = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return alphabet[seed % alphabet.length]!;
    };
    for (let i = 0; i < 3000; i++) {
      const glob = Array.from({ length: i % 7 }, pick).join('');
      const value = Array.from({ length: i % 9 }, pick)
        .join('')
        .replaceAll('*', 'a');
      expect(globTest(glob, value), `${JSON.stringify(glob)} ~ ${JSON.stringify(value)}`).toBe(asRegExp(glob).test(value));
    }
    // A pattern that sends a backtracking matcher into exponential work (the console's filters take globs from people).
    expect(globTest(`${'*a'.repeat(16)}*b`, 'a'.repeat(128))).toBe(false);
    expect(globTest(`${'*a'.repeat(16)}*b`, `${'a'.repeat(127)}b`)).toBe(true);
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
