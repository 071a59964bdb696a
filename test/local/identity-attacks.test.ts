/**
 * Identity attacks end to end, against local mode as `npm start` runs it: respelled identities, a person's aliases,
 * IAM's own shapes (assumed-role sessions, IAM Identity Center), every channel's step-up, and existence oracles.
 * Local API keys stand for callers exactly as API Gateway reports them on AWS (`userArn`, `userId`).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AuditRecord } from '../../lambdas/core/ledger-record';
import { api, eventually, postSlackClick, type RunningCountersign, startCountersign } from './harness';

const ACCOUNT = '000000000000';
const SIGNING_SECRET = 'identity-e2e-signing-secret-0123456789';
const SSO_ROLE_NAME = 'AWSReservedSSO_Approvers_0a1b2c3d4e5f6a7b';
const SSO_ROLE_ID = 'AROAEXAMPLESSOROLE01';
const session = (role: string, name: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`;

const config = {
  version: 1,
  groups: {
    owners: {
      members: [
        { id: 'alice@example.com', slackUserId: 'U0ALICE' },
        { id: `arn:aws:iam::${ACCOUNT}:user/erin`, email: 'erin@example.com', slackUserId: 'U0ERIN' },
        { id: `arn:aws:iam::${ACCOUNT}:role/ops` },
        { id: 'bob@example.com', slackUserId: 'U0BOB' },
      ],
    },
  },
  rules: [
    { name: 'no-ci', match: { requester: 'arn:aws:iam::*:role/ci-*' }, effect: 'deny', reason: 'CI never exports' },
    { name: 'step-up', match: { action: 'iam.grant' }, effect: 'require_approval', approvers: ['owners'], requireSignIn: true, timeout: '1h' },
    { name: 'exports', match: { action: 'data.export' }, effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
  ],
  default: { effect: 'deny' },
  auditors: ['audit@example.com'],
  channels: {
    email: { from: 'countersign@example.com' },
    slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET', channel: 'C0APPROVALS' },
  },
  auth: { oidc: { issuer: 'http://127.0.0.1:9/', clientId: 'countersign', clientSecret: 'env:OIDC_CLIENT_SECRET' } },
  identityCenter: { roles: [{ arn: `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/${SSO_ROLE_NAME}`, roleId: SSO_ROLE_ID }] },
  local: {
    apiKeys: {
      'agent-key': `arn:aws:iam::${ACCOUNT}:role/agent`,
      'alice-key': 'alice@example.com',
      'erin-key': `arn:aws:iam::${ACCOUNT}:user/Erin`,
      'bob-key': 'bob@example.com',
      'mallory-key': 'mallory@example.com',
      'audit-key': 'audit@example.com',
      'ops-agent-key': session('ops', 'agent-run-7'),
      'ci-key': session('CI-Deploy', 'run-42'),
      'ops-alice-key': session('ops', 'alice'),
      'sso-alice-key': { principal: session(SSO_ROLE_NAME, 'Alice@Example.com'), userId: `${SSO_ROLE_ID}:Alice@Example.com` },
      // A role of the same name that is not the configured one (its unique id differs): never Alice.
      'fake-sso-key': { principal: session(SSO_ROLE_NAME, 'alice@example.com'), userId: 'AROAIMPOSTORROLEID01:alice@example.com' },
    },
  },
};

describe('identity attacks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-identity-'));
  const configFile = join(dir, 'countersign.yaml');
  let cs: RunningCountersign;

  beforeAll(async () => {
    writeFileSync(configFile, stringify(config));
    cs = await startCountersign({
      dataDir: join(dir, 'data'),
      configFile,
      env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET, OIDC_CLIENT_SECRET: 'oidc-secret' },
    });
  });
  afterAll(async () => {
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const audit = async (id: string): Promise<AuditRecord[]> => (await api(cs.url, 'GET', `/v1/actions/${id}/audit`, 'audit-key')).body;
  const inbox = async (id: string) =>
    ((await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ actionId: string; channel: string; to: string; reviewUrl?: string }>).filter(
      (m) => m.actionId === id,
    );
  const ask = async (body: Record<string, unknown>, key = 'agent-key') => {
    const res = await api(cs.url, 'POST', '/v1/actions', key, body);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    await eventually(async () => ((await audit(id)).some((r) => r.type === 'notified') ? true : undefined));
    return id;
  };
  const decide = (id: string, key: string, decision = 'approve') => api(cs.url, 'POST', `/v1/actions/${id}/decision`, key, { decision });
  const votes = async (id: string) => (await audit(id)).filter((r) => r.type === 'voted').map((r) => r.data.approver);

  const slackClick = async (user: string, requestId: string) =>
    (await postSlackClick(cs.url, SIGNING_SECRET, { user, requestId, actionId: 'countersign_approve' })).status;

  it.each(['Alice@Example.com', ' alice@example.com', 'ALICE@EXAMPLE.COM\t', 'ａｌｉｃｅ@example.com', 'U0ALICE'])(
    'onBehalfOf %j is Alice on the decision API, her review link and the Slack button',
    async (onBehalfOf) => {
      const id = await ask({ action: 'data.export', onBehalfOf });
      expect((await api(cs.url, 'GET', `/v1/actions/${id}`, 'agent-key')).body.onBehalfOf).toBe(onBehalfOf === 'U0ALICE' ? 'u0alice' : 'alice@example.com');
      // She is never asked: no email, no Slack DM.
      expect((await inbox(id)).filter((m) => m.to === 'alice@example.com' || m.to === 'U0ALICE')).toEqual([]);
      expect((await decide(id, 'alice-key')).body.error.code).toBe('self_approval');
      expect(await slackClick('U0ALICE', id)).toBe(200);
      expect(await votes(id)).toEqual([]);
    },
  );

  it('an IAM user member whose email is onBehalfOf cannot approve it, nor can the same person spelled otherwise', async () => {
    const id = await ask({ action: 'data.export', onBehalfOf: 'erin@example.com' });
    expect((await decide(id, 'erin-key')).body.error.code).toBe('self_approval');
    await slackClick('U0ERIN', id);
    expect(await votes(id)).toEqual([]);
  });

  it('refuses an onBehalfOf with hidden characters, or that is no identity, with 400 naming it', async () => {
    for (const onBehalfOf of ['alice\u200B@example.com', '\u202Ealice@example.com', 'alice@example.com\u0000', '<b>x</b>']) {
      const res = await api(cs.url, 'POST', '/v1/actions', 'agent-key', { action: 'data.export', onBehalfOf });
      expect([res.status, res.body.error.code, res.body.error.details[0].path]).toEqual([400, 'invalid_request', 'onBehalfOf']);
    }
  });

  it('refuses bodies that readers disagree on: a repeated key, an unpaired surrogate, hidden or look-alike letters in onBehalfOf', async () => {
    const send = (body: string) =>
      fetch(`${cs.url}/v1/actions`, { method: 'POST', headers: { authorization: 'Bearer agent-key', 'content-type': 'application/json' }, body }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as any }),
      );
    for (const [body, path] of [
      ['{"action":"data.export","onBehalfOf":"bob@example.com","onBehalfOf":"alice@example.com"}', 'onBehalfOf'],
      ['{"action":"data.export","parameters":{"rows":1,"r\\u006fws":50000}}', 'parameters.rows'],
      ['{"action":"data.export","parameters":{"dry\\ud835Run":true}}', 'parameters.dry\ud835Run'],
      ['{"action":"data.export","onBehalfOf":"alice\\ufe0f@example.com"}', 'onBehalfOf'],
      ['{"action":"data.export","onBehalfOf":"\\u0430lice@example.com"}', 'onBehalfOf'],
    ] as const) {
      const answer = await send(body);
      expect([answer.status, answer.body.error.code, answer.body.error.details[0].path], body).toEqual([400, 'invalid_request', path]);
    }
  });

  it('a role never approves what any session of the same role asked', async () => {
    const id = await ask({ action: 'data.export' }, 'ops-agent-key');
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, 'ops-agent-key')).body.requester).toBe(session('ops', 'agent-run-7'));
    expect((await decide(id, 'ops-alice-key')).body.error.code).toBe('self_approval');
    // Another session of the role is the same requester: it may read and cancel.
    expect((await api(cs.url, 'GET', `/v1/actions/${id}`, 'ops-alice-key')).status).toBe(200);
    expect((await decide(id, 'bob-key')).body.status).toBe('approved');
    expect(await votes(id)).toEqual(['bob@example.com']);
  });

  it('a deny rule naming a role ARN matches every session of that role, in the shape API Gateway reports it', async () => {
    const res = await api(cs.url, 'POST', '/v1/actions', 'ci-key', { action: 'data.export' });
    expect(res.body).toMatchObject({ status: 'denied', rule: 'no-ci', requester: session('ci-deploy', 'run-42') });
  });

  it('an IAM Identity Center session of the configured role is the person it names; an impostor role is nobody', async () => {
    const id = await ask({ action: 'data.export' });
    const impostor = await decide(id, 'fake-sso-key');
    expect([impostor.status, impostor.body.error.code]).toEqual([404, 'not_found']);
    const alice = await decide(id, 'sso-alice-key');
    expect(alice.body).toMatchObject({ status: 'approved', votes: [{ approver: 'alice@example.com', decision: 'approve' }] });
  });

  it('answers a decision on a request the caller may not see exactly as one on a missing request', async () => {
    const id = await ask({ action: 'data.export' });
    const stranger = await decide(id, 'mallory-key');
    const missing = await decide('act_AAAAAAAAAAAAAAAAAAAAAA', 'mallory-key');
    expect(stranger).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no such request', details: [] } } });
    expect(missing).toEqual(stranger);
    expect(await votes(id)).toEqual([]);
  });

  it('derives Idempotency-Key request ids with a server-side secret', async () => {
    const key = `k-${Date.now()}`;
    const first = await fetch(`${cs.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: 'Bearer agent-key', 'content-type': 'application/json', 'idempotency-key': key },
      body: '{"action":"data.export"}',
    });
    const { id } = (await first.json()) as { id: string };
    const guessable = `act_${createHash('sha256').update(`arn:aws:iam::${ACCOUNT}:role/agent\n${key}`).digest('base64url').slice(0, 22)}`;
    expect(id).toMatch(/^act_[A-Za-z0-9_-]{22}$/);
    expect(id).not.toBe(guessable);
  });

  it('requireSignIn holds on every channel: Slack and an unsigned review link are refused, the IAM decision API is not', async () => {
    const id = await ask({ action: 'iam.grant' });
    expect(await slackClick('U0BOB', id)).toBe(200);
    expect(await votes(id)).toEqual([]);
    const link = (await inbox(id)).find((m) => m.channel === 'email' && m.to === 'bob@example.com')!.reviewUrl!;
    const post = await fetch(link, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'decision=approve',
    });
    expect(post.status).toBe(302);
    expect(post.headers.get('location')).toContain('/v1/auth/login?request=');
    expect(await votes(id)).toEqual([]);
    expect((await decide(id, 'bob-key')).body.status).toBe('approved');
  });
});
