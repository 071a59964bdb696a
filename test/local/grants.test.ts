/**
 * Grants end to end against local mode (the run's shared instance, default policy: `infra-changes` grants for up to
 * 8h, scoped to action, resource and requester). An approval for a while covers the next matching request at once;
 * the grant is listed, revoked (two revocations race: one wins), and the next request is asked again. The chains
 * verify with the grant and its revocation in them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, sharedCountersign, verifiedChain } from './harness';

const countersign = sharedCountersign();
const AGENT = 'demo-agent-key';
const AGENT_ROLE = 'arn:aws:iam::000000000000:role/demo-agent';
// A resource of this run's own: the shared instance's other tests never ask for it, so this grant covers none of theirs.
const RESOURCE = `vpc-grant-${Math.random().toString(36).slice(2, 10)}`;
let publicKeyPem: string;

const ask = (resource = RESOURCE, key = AGENT) =>
  api(countersign.url, 'POST', '/v1/actions', key, { action: 'infra.apply', resource, parameters: { change: 'add-route' } });

beforeAll(async () => {
  publicKeyPem = await (await fetch(`${countersign.url}/v1/audit/public-key`, { headers: { authorization: `Bearer ${AGENT}` } })).text();
}, 60_000);

describe('grants through local mode', () => {
  it('approves for a while, covers the next matching request at once, is revoked, and the next one is asked again', async () => {
    const first = await ask();
    expect(first.status).toBe(202);
    const id = first.body.id as string;
    // More than the rule allows is refused, and records nothing.
    const tooLong = await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve', for: '9h' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details).toEqual([{ path: 'for', message: expect.stringContaining('at most 8 hours') }]);
    const voted = await api(countersign.url, 'POST', `/v1/actions/${id}/decision`, 'alice-key', { decision: 'approve', for: '1h' });
    expect(voted.status).toBe(200);
    expect(voted.body).toMatchObject({ status: 'approved', grant: { id: id.replace('act_', 'grt_') } });
    const grantId = voted.body.grant.id as string;

    // Covered: approved at once, with a receipt, nobody asked.
    const second = await ask(` ${RESOURCE.toUpperCase()}`);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({ status: 'approved', decidedBy: 'grant', grantedBy: { grant: grantId, request: id }, receipt: expect.any(String) });
    const trail = await api(countersign.url, 'GET', `/v1/actions/${second.body.id}/audit`, AGENT);
    expect(trail.body.map((r: { type: string }) => r.type)).toEqual(['requested', 'policy_decided', 'approved']);
    expect(trail.body[1].data.grantedBy).toMatchObject({ grant: grantId, request: id, approvers: ['alice@example.com'] });
    // Another resource, or another requester, is asked.
    expect((await ask(`${RESOURCE}-other`)).status).toBe(202);
    expect((await ask(RESOURCE, 'alice-key')).status).toBe(202);

    // Listed to its requester, its approvers and auditors; not to someone who cannot read the request.
    for (const key of [AGENT, 'dave-key', 'audit-key']) {
      const listed = await api(countersign.url, 'GET', '/v1/grants', key);
      expect(listed.status).toBe(200);
      expect(listed.body.grants.find((g: { id: string }) => g.id === grantId)).toMatchObject({
        status: 'active',
        rule: 'infra-changes',
        requestId: id,
        scope: { action: 'infra.apply', resource: RESOURCE, requester: AGENT_ROLE },
        approvers: ['alice@example.com'],
      });
    }
    expect((await api(countersign.url, 'GET', '/v1/grants?status=everything', 'audit-key')).status).toBe(400);

    // The requester may not revoke; two approvers race to: one revocation is recorded, the other is told it was.
    expect((await api(countersign.url, 'POST', `/v1/grants/${grantId}/revoke`, AGENT, { reason: 'mine' })).status).toBe(403);
    expect((await api(countersign.url, 'POST', `/v1/grants/${grantId}/revoke`, 'dave-key', {})).status).toBe(400);
    const [a, b] = await Promise.all([
      api(countersign.url, 'POST', `/v1/grants/${grantId}/revoke`, 'dave-key', { reason: 'change freeze' }),
      api(countersign.url, 'POST', `/v1/grants/${grantId}/revoke`, 'audit-key', { reason: 'incident 7' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const won = a.status === 200 ? a : b;
    expect(won.body).toMatchObject({ id: grantId, status: 'revoked' });
    const revocations = (await api(countersign.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body.filter(
      (r: { type: string }) => r.type === 'grant_revoked',
    );
    expect(revocations).toHaveLength(1);

    // Asked again.
    const third = await ask();
    expect(third.status).toBe(202);
    expect(third.body.status).toBe('pending');
    expect((await api(countersign.url, 'GET', '/v1/grants', 'audit-key')).body.grants.some((g: { id: string }) => g.id === grantId)).toBe(false);
    expect((await api(countersign.url, 'GET', '/v1/grants?status=all', 'audit-key')).body.grants.find((g: { id: string }) => g.id === grantId)).toMatchObject({
      status: 'revoked',
    });

    for (const request of [id, second.body.id as string]) {
      const verification = await verifiedChain(countersign.url, request, 'audit-key', publicKeyPem);
      expect(verification.ok, JSON.stringify(verification)).toBe(true);
    }
  }, 60_000);
});
