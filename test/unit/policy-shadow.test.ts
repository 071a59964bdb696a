/**
 * Shadow rules (`mode: shadow`): a matching one records what it would have done and lets the request go on; one that
 * cannot judge the request records that instead of refusing it; one after the deciding rule is never reached. What
 * intake writes (`policy_decided.shadow`), masks and counts.
 */
import { describe, expect, it } from 'vitest';
import { askForAction } from '../../lambdas/app/ask';
import { type ConfigError, configFromDocument } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { evaluatePolicy, explainPolicy, maskPathsOf, type PolicyDecision, policyDecidedData } from '../../lambdas/core/policy';
import { explainSteps, shadowWords } from '../../lambdas/core/policy-explain';
import { policyDecidedDataSchema } from '../../lambdas/core/records';
import { memoryPorts } from '../fixtures/memory-ports';

const config = parseConfig(`
version: 1
groups:
  owners: { members: [{ id: alice@example.com }, { id: bob@example.com }] }
  security: { members: [{ id: sec@example.com }] }
rules:
  - name: strict-drops
    mode: shadow
    match: { action: "db.drop*" }
    effect: deny
    reason: trying a blanket ban
  - name: big-exports
    mode: shadow
    match: { action: data.export, environment: production, parameters: { rows: { gt: 10000 } } }
    effect: require_approval
    approvers: [owners, security]
    minApprovals: 2
    mask: [parameters.token]
  - name: enforced-drops
    mode: enforce
    match: { action: "db.drop*", environment: production }
    effect: deny
  - name: exports
    match: { action: data.export }
    effect: allow
  - name: late-shadow
    mode: shadow
    match: { action: "*" }
    effect: deny
default: { effect: require_approval, approvers: [owners] }
channels: { email: { from: c@example.com } }
`);

const decided = (request: Parameters<typeof evaluatePolicy>[1]): PolicyDecision => {
  const verdict = evaluatePolicy(config, request);
  if (verdict.refused) throw new Error(`refused: ${JSON.stringify(verdict.problems)}`);
  return verdict;
};
const record = (decision: PolicyDecision) => policyDecidedData(config, decision, 'v1', new Date('2026-11-30T00:00:00Z'));

describe('shadow rules in policy', () => {
  it('record what a matching shadow rule would have done and let the request fall through to the rule that decides', () => {
    const decision = decided({ action: 'db.drop_table', environment: 'production' });
    expect(decision.rule).toBe('enforced-drops');
    expect(decision.shadow).toEqual([{ rule: 'strict-drops', outcome: expect.objectContaining({ effect: 'deny' }) }]);
    expect(record(decision)).toMatchObject({
      rule: 'enforced-drops',
      effect: 'deny',
      shadow: [{ rule: 'strict-drops', effect: 'deny', reason: 'trying a blanket ban' }],
    });
    // A shadow rule's would-be deny does not stop a request the enforced rules allow.
    const staging = decided({ action: 'db.drop_table', environment: 'staging' });
    expect(staging.rule).toBe('default');
    expect(staging.outcome.effect).toBe('require_approval');
  });

  it('record the approvers and quorum a shadow approval would have asked, as member ids', () => {
    const decision = decided({ action: 'data.export', environment: 'production', parameters: { rows: 50_000 } });
    expect(decision.rule).toBe('exports');
    const data = record(decision);
    expect(data.shadow).toEqual([
      { rule: 'big-exports', effect: 'require_approval', requiredApprovals: 2, approverIds: ['alice@example.com', 'bob@example.com', 'sec@example.com'] },
    ]);
    // The record as written reads back through the ledger's schema.
    expect(policyDecidedDataSchema.parse(JSON.parse(JSON.stringify(data)))).toEqual(data);
  });

  it('never refuses for a shadow rule that cannot judge the request: it is recorded as not judged, with the paths', () => {
    const request = { action: 'data.export', environment: 'production', parameters: { rows: 'lots' } };
    const decision = decided(request);
    expect(decision.rule).toBe('exports');
    expect(decision.shadow).toEqual([{ rule: 'big-exports', refused: true, problems: [expect.objectContaining({ path: 'parameters.rows' })] }]);
    expect(record(decision).shadow).toEqual([{ rule: 'big-exports', notJudged: ['parameters.rows'] }]);
    // Enforced, the same rule refuses the request: a trial must not be weaker than what it tries.
    const enforced = { ...config, rules: config.rules.map((r) => (r.name === 'big-exports' ? { ...r, mode: 'enforce' as const } : r)) };
    expect(evaluatePolicy(enforced, request)).toMatchObject({ refused: true, rule: 'big-exports' });
  });

  it('do not reach a shadow rule after the deciding rule, and record none when no shadow rule matched', () => {
    const decision = decided({ action: 'data.export', environment: 'staging' });
    expect(decision.rule).toBe('exports');
    expect(decision.shadow).toBeUndefined();
    const data = record(decision);
    expect('shadow' in data).toBe(false);
    // A request reaching the default passed every rule: the late shadow rule is reached, and it matches.
    expect(decided({ action: 'users.list' }).shadow).toEqual([{ rule: 'late-shadow', outcome: expect.objectContaining({ effect: 'deny' }) }]);
  });

  it('match respelled values in canonical form, as enforcing rules do', () => {
    for (const request of [
      { action: 'DATA.EXPORT', environment: 'ＰＲＯＤＵＣＴＩＯＮ', parameters: { ROWS: '50000' } },
      { action: ' data.export ', environment: 'Production ', parameters: { 'rows\u200B': [50_000] } },
    ]) {
      expect(
        decided(request).shadow?.map((s) => s.rule),
        JSON.stringify(request),
      ).toEqual(['big-exports']);
    }
  });

  it('still refuse a request an enforcing rule cannot judge, with the shadow rules before it explained', () => {
    const strict = parseConfig(`
version: 1
rules:
  - { name: trial, mode: shadow, match: { action: "*" }, effect: deny }
  - { name: rows, match: { parameters: { rows: { lt: 10 } } }, effect: allow }
default: { effect: deny }
`);
    const explained = explainPolicy(strict, { action: 'x.y', parameters: { rows: 'many' } });
    expect(explained).toMatchObject({ refused: true, rule: 'rows', shadow: [{ rule: 'trial' }] });
  });

  it('mask what a matching shadow rule masks: masking never waits for a trial', () => {
    const decision = decided({ action: 'data.export', environment: 'production', parameters: { rows: 50_000 } });
    expect(maskPathsOf(decision)).toEqual(['parameters.token']);
    expect(maskPathsOf(decided({ action: 'data.export', environment: 'production', parameters: { rows: 'lots' } }))).toEqual([]);
  });

  it('are explained in rule order, each with what it would have done', () => {
    const explained = explainPolicy(config, { action: 'data.export', environment: 'production', parameters: { rows: 50_000 } });
    const steps = explainSteps(config, explained).map((s) => (s.kind === 'skipped' ? `skipped ${s.skipped.rule}` : shadowWords(s.shadow)));
    expect(steps).toEqual([
      'skipped strict-drops',
      'rule big-exports (shadow): matches -> would require_approval; on trial, not enforced',
      'skipped enforced-drops',
    ]);
    expect(explained.skipped[0]).toMatchObject({ rule: 'strict-drops', shadow: true });
    const unjudged = explainPolicy(config, { action: 'data.export', environment: 'production', parameters: { rows: 'lots' } });
    expect(shadowWords(unjudged.shadow![0]!)).toBe(
      'rule big-exports (shadow): cannot judge the request -> would refuse it (400 invalid_request); on trial, not enforced',
    );
  });
});

describe('the mode field', () => {
  const document = (mode: unknown) => ({ version: 1, rules: [{ name: 'r', match: {}, effect: 'allow', mode }] });
  const problems = (doc: unknown) => {
    try {
      configFromDocument(doc);
      return [];
    } catch (e) {
      return (e as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it('takes enforce and shadow, and is enforce when left out', () => {
    expect(configFromDocument(document('shadow')).rules[0]!.mode).toBe('shadow');
    expect(configFromDocument(document('enforce')).rules[0]!.mode).toBe('enforce');
    expect(evaluatePolicy(configFromDocument({ version: 1, rules: [{ name: 'r', match: {}, effect: 'allow' }] }), { action: 'a.b' })).toMatchObject({
      rule: 'r',
    });
  });

  it('refuses any other value, naming the field', () => {
    for (const mode of ['dry-run', 'Shadow', true, 1])
      expect(problems(document(mode)), String(mode)).toEqual(['rules.0.mode: expected one of enforce, shadow']);
    expect(problems({ version: 1, default: { effect: 'deny', mode: 'shadow' } })).toEqual(['default: unknown field(s): mode']);
  });
});

describe('intake', () => {
  const AGENT = 'arn:aws:iam::111122223333:role/agent';

  it('writes the shadow results in policy_decided, masks what the shadow rule masks, and counts each once', async () => {
    const ports = memoryPorts(config);
    const request = { action: 'data.export', environment: 'production', parameters: { rows: 50_000, token: 'hunter2-secret' } };
    const ask = () => askForAction(ports, { requester: AGENT, request, idempotencyKey: 'k1', callbackNetwork: 'public' });
    const { state } = await ask();
    await ask(); // a retry appends nothing, and counts nothing
    expect(state.policy).toMatchObject({
      rule: 'exports',
      effect: 'allow',
      shadow: [{ rule: 'big-exports', effect: 'require_approval', requiredApprovals: 2 }],
    });
    expect(JSON.stringify(ports.ledger.chains.get(state.id))).not.toContain('hunter2-secret');
    expect(ports.metrics.points.filter((p) => p.key === 'shadowDecisions')).toEqual([
      { key: 'shadowDecisions', dimensions: { Rule: 'big-exports', Effect: 'require_approval' }, value: 1 },
    ]);
    await askForAction(ports, { requester: AGENT, request: { ...request, parameters: { rows: 'lots' } }, callbackNetwork: 'public' });
    expect(ports.metrics.total('shadowDecisions', { Rule: 'big-exports', Effect: 'not_judged' })).toBe(1);
  });
});
