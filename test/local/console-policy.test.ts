/**
 * The console's policy page through local mode's gateway, as a script reaches it (`Authorization: Bearer <key>` of
 * `local.apiKeys`): approvers and auditors read the policy and explain requests against it; the agent, in no group
 * and no auditor, is refused; nobody signed in is sent to sign in.
 */
import { describe, expect, it } from 'vitest';
import { api, sharedCountersign } from './harness';

const countersign = sharedCountersign();

async function get(path: string, key?: string): Promise<{ status: number; type: string; body: string; location: string | null }> {
  const res = await fetch(`${countersign.url}${path}`, { redirect: 'manual', headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), location: res.headers.get('location') };
}

const explain = (query: Record<string, string>) => `/console/policy?${new URLSearchParams(query)}`;

describe('the console policy page in local mode', () => {
  it('shows approvers and auditors the loaded policy, under the version its decisions record', async () => {
    const created = await api(countersign.url, 'POST', '/v1/actions', 'demo-agent-key', {
      action: 'data.export',
      environment: 'production',
      resource: 'console-policy-version',
    });
    expect(created.status).toBe(202);
    const trail = await api(countersign.url, 'GET', `/v1/actions/${created.body.id}/audit`, 'demo-agent-key');
    expect(trail.status).toBe(200);
    const decided = (trail.body as Array<{ type: string; data: { policyVersion?: string } }>).find((r) => r.type === 'policy_decided');
    const version = decided?.data.policyVersion;
    expect(version).toMatch(/^[0-9a-f]{64}$/);

    for (const key of ['alice-key', 'bob-key', 'dave-key', 'audit-key']) {
      const page = await get('/console/policy', key);
      expect(page.status, key).toBe(200);
      expect(page.type, key).toBe('text/html; charset=utf-8');
      expect(page.body, key).toContain(`${version}</code>`);
      expect(page.body, key).toContain('id="rule-prod-exports"');
      expect(page.body, key).toContain('data-testid="explain-form"');
    }
  });

  it('explains a request in the CLI’s words', async () => {
    const page = await get(explain({ action: 'data.export', environment: 'Production', parameters: '{"rows": 5}' }), 'bob-key');
    expect(page.status).toBe(200);
    expect(page.body).toContain('rule no-prod-drops: does not match');
    expect(page.body).toContain('rule prod-exports: matches -&gt; require_approval');
    expect(page.body).toContain('2 of alice@example.com, bob@example.com');
  });

  it('answers what the API would refuse with a 400 page, never a crash', async () => {
    const bad = await get(explain({ action: 'data.export', parameters: '{"rows": ' }), 'audit-key');
    expect(bad.status).toBe(400);
    expect(bad.type).toBe('text/html; charset=utf-8');
    expect(bad.body).toContain('The API would refuse this request (400 invalid_request)');
    expect(bad.body).toContain('is not valid JSON');
    const hidden = await get(explain({ action: 'data.export', environment: 'prod\u200Buction' }), 'alice-key');
    expect(hidden.status).toBe(400);
    expect(hidden.body).toContain('holds a hidden character (U+200B)');
  });

  it('refuses the agent, which no group names and which is no auditor, and sends a stranger to sign in', async () => {
    const agent = await get('/console/policy', 'demo-agent-key');
    expect(agent.status).toBe(403);
    expect(agent.type).toBe('text/html; charset=utf-8');
    expect(agent.body).toContain('only approvers and auditors may read the policy');
    expect(agent.body).not.toContain('id="rule-prod-exports"');
    const agentExplain = await get(explain({ action: 'data.export' }), 'demo-agent-key');
    expect(agentExplain.status).toBe(403);
    expect(agentExplain.body).not.toContain('explain-result');

    const stranger = await get('/console/policy');
    expect(stranger.status).toBe(303);
    expect(stranger.location).toBe('/console/sign-in');
  });
});
