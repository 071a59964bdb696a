/**
 * Grants (lambdas/core/grant.ts, lambdas/app/grants.ts) with every port in memory: an approval for a while covers
 * later matching requests from the same requester, never a request its rule would not decide, never past a change of
 * the rule, a revocation or its end, and never for the people who made it.
 */

import { createPublicKey } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { timelineEntry } from '../../cli/audit';
import { type AskInput, askForAction } from '../../lambdas/app/ask';
import { listGrants, revokeBodySchema, revokeGrant } from '../../lambdas/app/grants';
import { runRepair } from '../../lambdas/app/repair';
import { castVote } from '../../lambdas/app/vote';
import { publicView, statusOf } from '../../lambdas/core/approval';
import { type Config, ConfigError } from '../../lambdas/core/config';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { CountersignError } from '../../lambdas/core/errors';
import { grantMismatch, grantScopeValues } from '../../lambdas/core/grant';
import { verifyChain } from '../../lambdas/core/ledger-record';
import { evaluatePolicy, grantOfferOf } from '../../lambdas/core/policy';
import { verifyReceipt } from '../../lambdas/core/receipt';
import { MemoryLeases, type MemoryPorts, memoryPolicy, memoryPorts } from '../fixtures/memory-ports';

const AGENT = 'arn:aws:iam::111122223333:role/deployer';
const OTHER_AGENT = 'arn:aws:iam::111122223333:role/other';
const CONFIG_TEXT = `
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, email: alice@example.com }
      - { id: bob@example.com, email: bob@example.com }
  security:
    members:
      - { id: carol@example.com, email: carol@example.com }
rules:
  - name: deploys
    match: { action: "deploy.*", environment: [staging, production] }
    effect: require_approval
    approvers: [owners]
    grant: { maxFor: 8h, scope: [action, resource, requester] }
  - name: grants
    match: { action: iam.grant }
    effect: require_approval
    require: [{ group: owners, min: 1 }, { group: security, min: 1 }]
    grant: { maxFor: 2h, scope: [action, requester] }
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners] }
default: { effect: deny }
auditors: [audit@example.com]
channels:
  email: { from: countersign@example.com }
`;
const config = parseConfig(CONFIG_TEXT);

const ask = (ports: MemoryPorts, request: AskInput['request'], requester = AGENT) => askForAction(ports, { requester, request, callbackNetwork: 'public' });
const vote = (ports: MemoryPorts, id: string, approver: string, more: { for?: string; decision?: 'approve' | 'deny' } = {}) =>
  castVote(ports, id, { approver, via: 'decision_api', signedIn: true }, { decision: more.decision ?? 'approve', ...(more.for ? { for: more.for } : {}) });
const DEPLOY = { action: 'deploy.service', resource: 'svc/api', environment: 'production' };

async function refusal(promise: Promise<unknown>): Promise<CountersignError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CountersignError);
  return err as CountersignError;
}

/** A request approved by alice for `span`, and the grant it made. */
async function granted(ports: MemoryPorts, span = '2h') {
  const first = await ask(ports, DEPLOY);
  const { state } = await vote(ports, first.state.id, 'alice@example.com', { for: span });
  expect(statusOf(state)).toBe('approved');
  return state;
}

describe('making a grant', () => {
  it('records the vote for a while and the grant the approval makes, bound to the rule and the scoped values', async () => {
    const ports = memoryPorts(config);
    const state = await granted(ports, '2h');
    const chain = await ports.ledger.read(state.id);
    expect(chain.find((r) => r.type === 'voted')?.data).toMatchObject({ approver: 'alice@example.com', forSeconds: 7200 });
    const grant = chain.find((r) => r.type === 'approved')?.data.grant as Record<string, unknown>;
    expect(grant).toMatchObject({
      id: state.id.replace('act_', 'grt_'),
      rule: 'deploys',
      scope: { action: 'deploy.service', resource: 'svc/api', requester: AGENT },
      approvers: ['alice@example.com'],
    });
    const votedAt = Date.parse(chain.find((r) => r.type === 'voted')!.at);
    expect(Date.parse(grant.until as string) - votedAt).toBe(7200 * 1000);
    expect(publicView(state).grant).toEqual({ id: grant.id, until: grant.until });
    expect(publicView(state).votes).toEqual([expect.objectContaining({ approver: 'alice@example.com', decision: 'approve', forSeconds: 7200 })]);
    expect(verifyChain(chain, createPublicKey(await ports.signer.publicKeyPem())).ok).toBe(true);
    expect(ports.metrics.total('grantEvents', { Event: 'made', Rule: 'deploys' })).toBe(1);
  });

  it('makes none for a vote for this call only (the default)', async () => {
    const ports = memoryPorts(config);
    const first = await ask(ports, DEPLOY);
    const { state } = await vote(ports, first.state.id, 'alice@example.com');
    expect(statusOf(state)).toBe('approved');
    expect(state.grant).toBeUndefined();
    expect(statusOf((await ask(ports, DEPLOY)).state)).toBe('pending');
  });

  it('refuses for past maxFor, for on a rule without grant, and for with deny, recording nothing', async () => {
    const ports = memoryPorts(config);
    const deploy = await ask(ports, DEPLOY);
    const tooLong = await refusal(vote(ports, deploy.state.id, 'alice@example.com', { for: '9h' }));
    expect(tooLong.code).toBe('invalid_request');
    expect(tooLong.message).toContain('at most 8 hours');
    const withDeny = await refusal(vote(ports, deploy.state.id, 'alice@example.com', { for: '1h', decision: 'deny' }));
    expect(withDeny.details?.[0]?.path).toBe('for');
    const exportRequest = await ask(ports, { action: 'data.export' });
    const noGrant = await refusal(vote(ports, exportRequest.state.id, 'alice@example.com', { for: '1h' }));
    expect(noGrant.message).toContain('one call at a time');
    for (const id of [deploy.state.id, exportRequest.state.id]) {
      expect((await ports.ledger.read(id)).some((r) => r.type === 'voted')).toBe(false);
    }
  });

  it('needs the full quorum to ask for it: one approver for this call only makes no grant; all for a while, the shortest', async () => {
    const ports = memoryPorts(config);
    const one = await ask(ports, { action: 'iam.grant' });
    await vote(ports, one.state.id, 'alice@example.com', { for: '2h' });
    const settled = await vote(ports, one.state.id, 'carol@example.com');
    expect(statusOf(settled.state)).toBe('approved');
    expect(settled.state.grant).toBeUndefined();

    const both = await ask(ports, { action: 'iam.grant' });
    await vote(ports, both.state.id, 'alice@example.com', { for: '2h' });
    ports.clock.advance(60_000);
    const made = await vote(ports, both.state.id, 'carol@example.com', { for: '30m' });
    expect(made.state.grant?.approvers).toEqual(['alice@example.com', 'carol@example.com']);
    const lastVote = made.state.votes.at(-1)!.at;
    expect(Date.parse(made.state.grant!.until) - Date.parse(lastVote)).toBe(30 * 60_000);
    const used = await ask(ports, { action: 'iam.grant' });
    expect(publicView(used.state)).toMatchObject({ status: 'approved', decidedBy: 'grant' });
    expect(used.state.policy?.grantedBy?.approvers).toEqual(['alice@example.com', 'carol@example.com']);
  });
});

describe('using a grant', () => {
  it('approves a matching request from the same requester at once, naming the grant and its votes, with a receipt', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports);
    ports.clock.advance(10 * 60_000);
    // Respelled, another session of the same role: the same canonical values.
    const session = 'arn:aws:sts::111122223333:assumed-role/deployer/run-42';
    const { state, receipt } = await ask(ports, { action: 'DEPLOY.Service', resource: ' svc/api', environment: 'production', parameters: { v: 2 } }, session);
    expect(publicView(state)).toMatchObject({ status: 'approved', decidedBy: 'grant', grantedBy: { grant: source.grant!.id, request: source.id } });
    const chain = await ports.ledger.read(state.id);
    expect(chain.map((r) => r.type)).toEqual(['requested', 'policy_decided', 'approved']);
    expect(chain[1]!.data.grantedBy).toEqual({ grant: source.grant!.id, request: source.id, until: source.grant!.until, approvers: ['alice@example.com'] });
    expect(chain[2]!.data).toEqual({ decidedBy: 'grant', approvers: ['alice@example.com'] });
    const claims = verifyReceipt(receipt!, await ports.signer.publicKeyPem(), { now: ports.clock.now() });
    expect(claims).toMatchObject({ decidedBy: 'grant', grant: source.grant!.id, approvers: ['alice@example.com'] });
    expect(ports.workflow.started.has(state.id)).toBe(false);
    expect(ports.metrics.total('grantEvents', { Event: 'used' })).toBe(1);
  });

  it('covers nothing outside its scope, its rule, its requester or its time', async () => {
    const ports = memoryPorts(config);
    await granted(ports, '1h');
    const pending = async (request: AskInput['request'], requester = AGENT) => {
      const { state } = await ask(ports, request, requester);
      return state.outcome?.status ?? 'pending';
    };
    expect(await pending({ ...DEPLOY, resource: 'svc/billing' })).toBe('pending');
    expect(await pending({ ...DEPLOY, action: 'deploy.database' })).toBe('pending');
    expect(await pending({ ...DEPLOY, resource: undefined })).toBe('pending');
    expect(await pending(DEPLOY, OTHER_AGENT)).toBe('pending');
    // Policy sends it elsewhere: the grant's rule never sees it.
    expect(await pending({ ...DEPLOY, environment: 'dev' })).toBe('denied');
    expect(await pending(DEPLOY)).toBe('approved');
    ports.clock.advance(3600_000);
    expect(await pending(DEPLOY)).toBe('pending');
  });

  it('ends with any change to its rule or to who may approve it', async () => {
    const ports = memoryPorts(config);
    await granted(ports);
    const reload = (text: string) => Object.assign(ports, { policy: memoryPolicy(parseConfig(text)) });
    // Unrelated edits elsewhere keep it.
    reload(CONFIG_TEXT.replace('approvers: [owners] }', 'approvers: [owners], reason: exports }'));
    expect(statusOf((await ask(ports, DEPLOY)).state)).toBe('approved');
    expect((await listGrants(ports, 'audit@example.com')).grants.map((g) => g.status)).toEqual(['active']);
    // A narrower match ends it, and the listing says so.
    reload(CONFIG_TEXT.replace('environment: [staging, production]', 'environment: [production]'));
    expect(statusOf((await ask(ports, DEPLOY)).state)).toBe('pending');
    expect((await listGrants(ports, 'audit@example.com')).grants).toEqual([]);
    expect((await listGrants(ports, 'audit@example.com', { all: true })).grants.map((g) => g.status)).toEqual(['ended']);
    // So does a change of the group's people.
    reload(CONFIG_TEXT.replace('      - { id: bob@example.com, email: bob@example.com }\n', ''));
    expect(statusOf((await ask(ports, DEPLOY)).state)).toBe('pending');
    // And a policy that drops the rule.
    reload(CONFIG_TEXT.replace(/ {2}- name: deploys[\s\S]*?requester\] \}\n/, ''));
    expect((await ask(ports, DEPLOY)).state.outcome?.status).toBe('denied');
  });

  it('never approves for someone who made it: a request on behalf of its approver is asked', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports);
    expect(source.grant?.scope.onBehalfOf).toBeUndefined();
    const { state } = await ask(ports, { ...DEPLOY, onBehalfOf: 'Alice@Example.com' });
    expect(statusOf(state)).toBe('pending');
  });
});

describe('listing and revoking', () => {
  it('lists grants to those who may read them, revokes with a reason on the granting chain, and asks again', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports);
    const id = source.grant!.id;
    expect((await listGrants(ports, 'bob@example.com')).grants.map((g) => g.id)).toEqual([id]);
    expect((await listGrants(ports, AGENT)).grants.map((g) => g.id)).toEqual([id]);
    expect((await listGrants(ports, 'carol@example.com')).grants).toEqual([]);
    expect((await refusal(revokeGrant(ports, 'carol@example.com', id, 'no'))).code).toBe('not_found');
    expect((await refusal(revokeGrant(ports, AGENT, id, 'mine'))).code).toBe('forbidden');
    expect((await refusal(revokeGrant(ports, 'bob@example.com', 'grt_nothing', 'x'))).code).toBe('not_found');

    const revoked = await revokeGrant(ports, 'audit@example.com', id, 'incident 42');
    expect(revoked).toMatchObject({ id, status: 'revoked', revokedBy: 'audit@example.com', revokeReason: 'incident 42' });
    const chain = await ports.ledger.read(source.id);
    expect(chain.at(-1)).toMatchObject({
      type: 'grant_revoked',
      actor: 'audit@example.com',
      data: { grant: id, revokedBy: 'audit@example.com', reason: 'incident 42' },
    });
    // A retry of the same revocation changes nothing; another is refused.
    await revokeGrant(ports, 'audit@example.com', id, 'incident 42');
    expect((await ports.ledger.read(source.id)).length).toBe(chain.length);
    expect((await refusal(revokeGrant(ports, 'bob@example.com', id, 'again'))).code).toBe('already_decided');

    expect(statusOf((await ask(ports, DEPLOY)).state)).toBe('pending');
    expect((await listGrants(ports, 'bob@example.com')).grants).toEqual([]);
    expect((await listGrants(ports, 'bob@example.com', { all: true })).grants.map((g) => g.status)).toEqual(['revoked']);
    expect(ports.metrics.total('grantEvents', { Event: 'revoked' })).toBe(1);
  });

  it('refuses to revoke an expired grant', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports, '1h');
    ports.clock.advance(2 * 3600_000);
    expect((await refusal(revokeGrant(ports, 'bob@example.com', source.grant!.id, 'late'))).code).toBe('already_decided');
    expect((await listGrants(ports, 'bob@example.com', { all: true })).grants.map((g) => g.status)).toEqual(['expired']);
  });
});

describe('config', () => {
  const problems = (text: string) => {
    try {
      parseConfig(text);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  const withGrant = (grant: string, more = '') =>
    `version: 1\ngroups: { owners: { members: [{ id: alice@example.com }] } }\nchannels: { email: { from: c@example.com } }\nauth: { oidc: { issuer: "https://id.example.com", clientId: x, clientSecret: env:S } }\nrules:\n  - { name: r, match: {}, effect: require_approval, approvers: [owners], grant: ${grant}${more} }\n`;

  it('refuses a scope without requester, an unknown or repeated field, and a maxFor out of bounds', () => {
    expect(problems(withGrant('{ maxFor: 8h, scope: [action] }'))).toEqual([expect.stringContaining('must include requester')]);
    expect(problems(withGrant('{ maxFor: 8h, scope: [requester, parameters] }'))[0]).toContain('rules.0.grant.scope.1');
    expect(problems(withGrant('{ maxFor: 8h, scope: [requester, requester] }'))[0]).toContain('twice');
    expect(problems(withGrant('{ maxFor: 31d, scope: [requester] }'))[0]).toContain('at most 30d');
    expect(problems(withGrant('{ maxFor: 30s, scope: [requester] }'))[0]).toContain('at least 1m');
    expect(problems(withGrant('{ maxFor: 8h, scope: [requester] }'))).toEqual([]);
    // A masked scoped field, by the rule's mask or the config's.
    expect(problems(withGrant('{ maxFor: 8h, scope: [requester, resource] }', ', mask: [resource]'))).toEqual([
      'rules.0.grant.scope.1: resource is masked, so a grant scoped to it could never match a later request',
    ]);
    expect(problems(`mask: [agent.name]\n${withGrant('{ maxFor: 8h, scope: [agent, requester] }')}`)[0]).toContain('agent is masked');
  });

  it('refuses a grant on a requireSignIn rule unless withSignIn says so, and on a rule that allows or denies', () => {
    expect(problems(withGrant('{ maxFor: 8h, scope: [requester] }', ', requireSignIn: true'))[0]).toContain('withSignIn');
    expect(problems(withGrant('{ maxFor: 8h, scope: [requester], withSignIn: true }', ', requireSignIn: true'))).toEqual([]);
    const allow = 'version: 1\nrules:\n  - { name: r, match: {}, effect: allow, grant: { maxFor: 1h, scope: [requester] } }\n';
    expect(problems(allow)[0]).toContain('only applies when effect is require_approval');
  });
});

describe('a grant never approves a request its rule would not have matched', () => {
  const values = {
    action: fc.constantFrom('deploy.service', 'DEPLOY.SERVICE', 'deploy.database', 'deploy', 'data.export', 'deploy.service\u200b'),
    resource: fc.option(fc.constantFrom('svc/api', 'SVC/API', 'svc/api ', 'svc/billing', 'svc'), { nil: undefined }),
    environment: fc.option(fc.constantFrom('production', 'Production', 'staging', 'dev', 'prod'), { nil: undefined }),
    requester: fc.constantFrom(AGENT, 'arn:aws:sts::111122223333:assumed-role/deployer/s1', OTHER_AGENT),
  };

  it('covers a request only when policy sends it to the grant rule and every scoped value is the same', () => {
    const grantRule = config.rules.find((r) => r.name === 'deploys')!;
    const offer = grantOfferOf(config, grantRule)!;
    const grant = {
      id: 'grt_x',
      rule: 'deploys',
      ruleDigest: offer.ruleDigest,
      scope: grantScopeValues(offer.scope, { ...DEPLOY, requester: AGENT }),
      until: '2100-01-01T00:00:00.000Z',
      approvers: ['alice@example.com'],
    };
    let covered = 0;
    fc.assert(
      fc.property(fc.record(values), (request) => {
        const verdict = evaluatePolicy(config as Config, request);
        if (verdict.refused) return;
        const covers =
          grantMismatch(grant, false, new Date('2026-12-01T00:00:00Z'), verdict.rule, grantOfferOf(config, verdict.outcome), request) === undefined;
        if (!covers) return;
        covered++;
        // Covered: the grant's own rule decides it, and the scope holds in canonical form.
        expect(verdict.rule).toBe('deploys');
        expect(grantScopeValues(offer.scope, request)).toEqual(grant.scope);
      }),
      { numRuns: 500 },
    );
    expect(covered).toBeGreaterThan(0);
  });

  it('through intake: whatever is asked, a grant-approved request is one its rule decides, in scope, from the same requester', async () => {
    let covered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record(values), { minLength: 1, maxLength: 6 }), async (requests) => {
        const ports = memoryPorts(config);
        const source = await granted(ports, '8h');
        for (const { requester, ...request } of requests) {
          const { state } = await ask(ports, request, requester);
          if (state.outcome?.decidedBy !== 'grant') continue;
          covered++;
          const verdict = evaluatePolicy(config, { ...request, requester });
          expect(verdict.refused ? undefined : verdict.rule).toBe('deploys');
          expect(grantScopeValues(['action', 'resource', 'requester'], { ...request, requester })).toEqual(source.grant!.scope);
        }
      }),
      { numRuns: 40 },
    );
    // The property was tried on requests a grant did cover, not only on ones it refused.
    expect(covered).toBeGreaterThan(0);
  });
});

describe('the CLI timeline', () => {
  it('tells a vote for a while, the grant an approval made, an approval by grant, and a revocation, in sentences', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports, '2h');
    await revokeGrant(ports, 'bob@example.com', source.grant!.id, 'done for today');
    const sentences = (await ports.ledger.read(source.id)).map((r) => timelineEntry(r).summary);
    expect(sentences).toContain('alice@example.com approved for 2 hours (a grant) (no reason given).');
    expect(sentences.find((s) => s.startsWith('Approved by alice@example.com, granting grt_'))).toBeDefined();
    expect(sentences).toContain(`Grant ${source.grant!.id} revoked by bob@example.com: "done for today". Later requests are asked again.`);
    await revokeGrant(ports, 'bob@example.com', source.grant!.id, 'done for today');
    const second = await granted(ports, '1h');
    const used = (await ask(ports, DEPLOY)).state;
    const usedSentences = (await ports.ledger.read(used.id)).map((r) => timelineEntry(r).summary);
    expect(usedSentences.join('\n')).toContain(`Approved at once by grant ${second.grant!.id} (made by alice@example.com on request ${second.id}`);
    expect(usedSentences).toContain('Approved by a grant, made by alice@example.com.');
  });
});

describe('votes for a while that could make no grant', () => {
  it('are refused when the rule changed or stopped granting since the request was made, recording nothing', async () => {
    const ports = memoryPorts(config);
    const first = await ask(ports, DEPLOY);
    Object.assign(ports, {
      policy: memoryPolicy(parseConfig(CONFIG_TEXT.replace('grant: { maxFor: 8h, scope: [action, resource, requester] }', 'reason: no grants'))),
    });
    const dropped = await refusal(vote(ports, first.state.id, 'alice@example.com', { for: '1h' }));
    expect(dropped.message).toContain('changed since this request was made');
    Object.assign(ports, { policy: memoryPolicy(parseConfig(CONFIG_TEXT.replace('maxFor: 8h', 'maxFor: 4h'))) });
    expect((await refusal(vote(ports, first.state.id, 'alice@example.com', { for: '1h' }))).details?.[0]?.path).toBe('for');
    expect((await ports.ledger.read(first.state.id)).some((r) => r.type === 'voted')).toBe(false);
    // This call only is still a vote.
    expect(statusOf((await vote(ports, first.state.id, 'alice@example.com')).state)).toBe('approved');
  });

  it('are refused under a minute, and when a scoped field is masked (it could never match again)', async () => {
    const ports = memoryPorts(config);
    const first = await ask(ports, DEPLOY);
    expect((await refusal(vote(ports, first.state.id, 'alice@example.com', { for: '30s' }))).message).toContain('at least 1 minute');
    // A detector masks a secret wherever it is, the resource too.
    const secret = await ask(ports, { ...DEPLOY, resource: 'AKIAIOSFODNN7EXAMPLE' });
    expect(secret.state.request.resource).toMatch(/^\[masked: /);
    const refused = await refusal(vote(ports, secret.state.id, 'alice@example.com', { for: '1h' }));
    expect(refused.message).toContain('resource is masked');
  });

  it('say so when the same approver votes again for another length, instead of dropping it', async () => {
    const ports = memoryPorts(config);
    const quorum = await ask(ports, { action: 'iam.grant' });
    await vote(ports, quorum.state.id, 'alice@example.com');
    const again = await refusal(vote(ports, quorum.state.id, 'alice@example.com', { for: '1h' }));
    expect(again.code).toBe('already_decided');
    expect(again.message).toContain('for this call only');
    // The very same vote again is still a harmless repeat.
    expect((await vote(ports, quorum.state.id, 'alice@example.com')).recorded).toBe(false);
  });
});

describe('a grant a policy change ended', () => {
  it('is ended for good by the repair job: restoring the rule does not bring it back', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports);
    const run = () => runRepair(ports, new MemoryLeases(), { remainingMs: 60_000, graceMs: 0, onFailure: () => {} });
    // The rule as it was: nothing to end.
    expect((await run()).grantsEnded).toBeUndefined();
    // Another member in the rule's group changes its digest: ended, and recorded so.
    Object.assign(ports, { policy: memoryPolicy(parseConfig(CONFIG_TEXT.replace('  security:', '      - { id: dan@example.com }\n  security:'))) });
    expect((await run()).grantsEnded).toBe(1);
    const last = (await ports.ledger.read(source.id)).at(-1)!;
    expect(last).toMatchObject({ type: 'grant_revoked', actor: 'countersign', data: { grant: source.grant!.id, revokedBy: 'countersign' } });
    expect(String(last.data.reason)).toMatch(/^rule deploys changed \(policy /);
    expect((await run()).grantsEnded).toBeUndefined();
    // The policy rolled back: the grant stays ended, and the next matching request is asked.
    Object.assign(ports, { policy: memoryPolicy(config) });
    expect(statusOf((await ask(ports, DEPLOY)).state)).toBe('pending');
    expect((await listGrants(ports, 'audit@example.com', { all: true })).grants.map((g) => g.status)).toEqual(['revoked']);
  });
});

describe('a revocation body', () => {
  it('needs a reason in visible text', () => {
    expect(revokeBodySchema.safeParse({ reason: 'incident 7' }).success).toBe(true);
    for (const reason of ['', '   ', '\u200b', '\u200b \u2066\u2069', '\u00ad'])
      expect(revokeBodySchema.safeParse({ reason }).success, JSON.stringify(reason)).toBe(false);
    expect(revokeBodySchema.safeParse({ reason: 'x', extra: 1 }).success).toBe(false);
  });
});

describe('listing many grants', () => {
  it('reads at most 200 and says the list is partial past that', async () => {
    const ports = memoryPorts(config);
    await granted(ports);
    expect(await listGrants(ports, 'audit@example.com')).toEqual({ grants: [expect.objectContaining({ status: 'active' })] });
    // Pointers past the limit (their chains are never read: only the first 200 are).
    for (let i = 0; i < 200; i++) {
      await ports.grants.put({
        id: `grt_extra${i}`,
        requestId: `act_extra${i}`,
        until: '2100-01-01T00:00:00.000Z',
        rule: 'deploys',
        ruleDigest: 'x',
        scopeKey: `k${i}`,
      });
    }
    const listed = await listGrants(ports, 'audit@example.com');
    expect(listed.partial).toBe(true);
  });
});

describe('the grant index', () => {
  it('retires a revoked grant, so intake no longer reads its chain, and completing its approval again does not put it back', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports);
    expect(ports.grants.items.get(source.grant!.id)?.retired).toBe(false);
    await revokeGrant(ports, 'bob@example.com', source.grant!.id, 'done');
    expect(ports.grants.items.get(source.grant!.id)?.retired).toBe(true);
    // A repeated vote completes the approval again (receipt, status): the grant stays retired.
    await vote(ports, source.id, 'alice@example.com', { for: '2h' });
    expect(ports.grants.items.get(source.grant!.id)?.retired).toBe(true);
    const reads = vi.spyOn(ports.ledger, 'read');
    expect(statusOf((await ask(ports, DEPLOY)).state)).toBe('pending');
    expect(reads.mock.calls.map(([id]) => id)).not.toContain(source.id);
    // Listed still, as revoked.
    expect((await listGrants(ports, 'bob@example.com', { all: true })).grants.map((g) => g.status)).toEqual(['revoked']);
  });

  it('retires a grant a policy change ended, and the next repair run passes it over', async () => {
    const ports = memoryPorts(config);
    const source = await granted(ports);
    Object.assign(ports, { policy: memoryPolicy(parseConfig(CONFIG_TEXT.replace('maxFor: 8h', 'maxFor: 4h'))) });
    const run = () => runRepair(ports, new MemoryLeases(), { remainingMs: 60_000, graceMs: 0, onFailure: () => {} });
    expect((await run()).grantsEnded).toBe(1);
    expect(ports.grants.items.get(source.grant!.id)?.retired).toBe(true);
    const appends = vi.spyOn(ports.ledger, 'append');
    await run();
    expect(appends).not.toHaveBeenCalled();
  });
});
