/**
 * Local mode's Secrets Manager (local/secrets-manager.ts): the endpoint checked through the real SDK v3
 * SecretsManagerClient, which secrets local mode serves for the config's ARNs (local/runtime.ts `localSecretArns`), and
 * a local mode whose Slack and Teams secrets are ARNs, as a deployment's are, delivering to both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { LOCAL_SLACK_BOT_TOKEN, localSecretArns, localSecretValues } from '../../local/runtime';
import { LocalSecretsManager } from '../../local/secrets-manager';
import { api, eventually, postSlackClick, type RunningCountersign, startCountersign } from './harness';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:countersign/slack-bot-token-AbCdEf';
const OTHER_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:countersign/other-XyZ123';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function clientFor(url: string): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}

/** The error the SDK raised for `promise`, so tests can assert on its name. */
async function errorOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

describe('LocalSecretsManager through the SDK SecretsManagerClient', () => {
  const secrets: Record<string, string> = { [ARN]: 'xoxb-from-the-local-secrets-manager' };
  const local = new LocalSecretsManager({ secrets: () => secrets });
  let url: string;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    url = await local.listen();
    client = clientFor(url);
  });
  afterAll(async () => {
    client?.destroy();
    await local.close();
  });

  it('answers GetSecretValue by ARN as the API documents', async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: ARN }));
    expect(out).toMatchObject({
      ARN,
      Name: 'countersign/slack-bot-token',
      SecretString: 'xoxb-from-the-local-secrets-manager',
      VersionStages: ['AWSCURRENT'],
    });
    expect(out.VersionId).toMatch(UUID);
    expect(out.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs(out.CreatedDate!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(out.SecretBinary).toBeUndefined();
    // The same value is the same version; the current one can be asked for by id or by stage.
    const again = await client.send(new GetSecretValueCommand({ SecretId: ARN, VersionId: out.VersionId, VersionStage: 'AWSCURRENT' }));
    expect(again.VersionId).toBe(out.VersionId);
  });

  it('finds a secret by its name and its partial ARN too, and answers its full ARN', async () => {
    for (const SecretId of ['countersign/slack-bot-token', ARN.slice(0, -'-AbCdEf'.length)]) {
      const out = await client.send(new GetSecretValueCommand({ SecretId }));
      expect([out.ARN, out.SecretString]).toEqual([ARN, 'xoxb-from-the-local-secrets-manager']);
    }
  });

  it('serves what it is given at each call', async () => {
    secrets[OTHER_ARN] = 'added later';
    try {
      expect((await client.send(new GetSecretValueCommand({ SecretId: OTHER_ARN }))).SecretString).toBe('added later');
    } finally {
      delete secrets[OTHER_ARN];
    }
    expect((await errorOf(client.send(new GetSecretValueCommand({ SecretId: OTHER_ARN })))).name).toBe('ResourceNotFoundException');
  });

  it('answers ResourceNotFoundException (400) for a secret, version or stage it does not have', async () => {
    const unknown = await errorOf(client.send(new GetSecretValueCommand({ SecretId: OTHER_ARN })));
    expect(unknown.name).toBe('ResourceNotFoundException');
    expect(unknown.message).toBe("Secrets Manager can't find the specified secret.");
    expect(unknown.$metadata?.httpStatusCode).toBe(400);
    const version = await errorOf(client.send(new GetSecretValueCommand({ SecretId: ARN, VersionId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' })));
    expect(version.name).toBe('ResourceNotFoundException');
    const stage = await errorOf(client.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPREVIOUS' })));
    expect(stage.name).toBe('ResourceNotFoundException');
  });

  it('answers ValidationException for a bad request', async () => {
    for (const input of [{}, { SecretId: '' }, { SecretId: 'x'.repeat(2049) }, { SecretId: ARN, VersionId: 'short' }, { SecretId: 7 }]) {
      const err = await errorOf(client.send(new GetSecretValueCommand(input as never)));
      expect(err.name, JSON.stringify(input)).toBe('ValidationException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
  });

  it('answers UnknownOperationException for any other operation, as the other local endpoints do', async () => {
    const err = await errorOf(client.send(new ListSecretsCommand({})));
    expect(err.name).toBe('UnknownOperationException');
  });

  it('refuses web pages and hosts other than loopback', async () => {
    const body = JSON.stringify({ SecretId: ARN });
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' };
    const fromPage = await fetch(url, { method: 'POST', headers: { ...headers, origin: 'https://evil.example' }, body });
    expect(fromPage.status).toBe(403);
    expect(await fromPage.text()).not.toContain('xoxb');
    const fetchMetadata = await fetch(url, { method: 'POST', headers: { ...headers, 'sec-fetch-site': 'cross-site' }, body });
    expect(fetchMetadata.status).toBe(403);
    // fetch cannot change Host: a DNS-rebound page's request, as node:http sends it.
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { ...headers, host: `evil.example:${new URL(url).port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(rebound).toBe(421);
    // The same request from a client that is not a browser is answered.
    const plain = await fetch(url, { method: 'POST', headers, body });
    expect(plain.status).toBe(200);
  });
});

describe("the secrets local mode serves for the config's ARNs", () => {
  const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-Ab12Cd`;
  const config = parseConfig(
    stringify({
      version: 1,
      groups: { g: { members: [{ id: 'a@example.com' }] } },
      channels: {
        slack: { botToken: arn('slack-token'), signingSecret: arn('slack-signing') },
        teams: { webhookUrl: arn('teams') },
      },
      auth: { oidc: { issuer: 'https://login.example.com', clientId: 'countersign', clientSecret: arn('oidc') } },
      default: { effect: 'deny' },
    }),
  );
  const channels = { teamsWebhook: 'http://127.0.0.1:7/workflows/w' };

  it('serve the Teams webhook as the local one and a local Slack token, and nothing it has no value for', () => {
    expect(localSecretArns(config, {}, channels)).toEqual({ [arn('teams')]: 'http://127.0.0.1:7/workflows/w', [arn('slack-token')]: LOCAL_SLACK_BOT_TOKEN });
  });

  it('take the other values from COUNTERSIGN_LOCAL_SECRETS, whose Teams webhook never replaces the local one', () => {
    const values = localSecretValues({
      COUNTERSIGN_LOCAL_SECRETS: JSON.stringify({
        [arn('slack-token')]: 'xoxb-given',
        [arn('slack-signing')]: 'signing-given',
        [arn('oidc')]: 'oidc-given',
        [arn('teams')]: 'https://example.webhook.office.com/x',
        [arn('not-in-the-config')]: 'ignored',
      }),
    });
    expect(localSecretArns(config, values, channels)).toEqual({
      [arn('slack-token')]: 'xoxb-given',
      [arn('slack-signing')]: 'signing-given',
      [arn('teams')]: 'http://127.0.0.1:7/workflows/w',
      [arn('oidc')]: 'oidc-given',
    });
  });

  it('leave `env:NAME` secrets to the environment', () => {
    const envConfig = parseConfig(
      stringify({
        version: 1,
        groups: { g: { members: [{ id: 'a@example.com' }] } },
        channels: {
          email: { from: 'cs@example.com' },
          slack: { botToken: 'env:SLACK_TOKEN', signingSecret: arn('slack-signing') },
          teams: { webhookUrl: 'env:TEAMS_URL' },
        },
        default: { effect: 'deny' },
      }),
    );
    expect(localSecretArns(envConfig, { [arn('slack-signing')]: 's' }, channels)).toEqual({ [arn('slack-signing')]: 's' });
  });

  it('refuse a COUNTERSIGN_LOCAL_SECRETS that is not a JSON object of strings, and take none when it is unset', () => {
    expect(localSecretValues({})).toEqual({});
    for (const text of ['not json', '["a"]', '{"arn":1}', '{"arn":""}']) {
      expect(() => localSecretValues({ COUNTERSIGN_LOCAL_SECRETS: text }), text).toThrow(
        /^COUNTERSIGN_LOCAL_SECRETS must be a JSON object of secret ARN to value/,
      );
    }
  });
});

describe('local mode with Slack and Teams secrets named by ARN', () => {
  const SLACK_TOKEN_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:countersign/slack-bot-token-Ab12Cd';
  const SLACK_SIGNING_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:countersign/slack-signing-secret-Ef34Gh';
  const TEAMS_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:countersign/teams-webhook-Ij56Kl';
  const SIGNING_SECRET = 'arn-signing-secret-0123456789abcdef';
  const dir = mkdtempSync(join(tmpdir(), 'cs-local-secrets-'));
  let cs: RunningCountersign;

  beforeAll(async () => {
    const config = {
      version: 1,
      groups: { owners: { members: [{ id: 'alice@example.com', email: 'alice@example.com', slackUserId: 'U0ALICE' }] } },
      default: { effect: 'require_approval', approvers: ['owners'], timeout: '1h' },
      channels: {
        // Teams needs a way for approvers to prove who they are: email here.
        email: { from: 'countersign@example.com' },
        slack: { botToken: SLACK_TOKEN_ARN, signingSecret: SLACK_SIGNING_ARN, channel: 'C0APPROVALS' },
        teams: { webhookUrl: TEAMS_ARN },
      },
      local: { apiKeys: { 'agent-key-1': 'arn:aws:iam::000000000000:role/agent' } },
    };
    writeFileSync(join(dir, 'config.yaml'), stringify(config));
    cs = await startCountersign({
      dataDir: join(dir, 'data'),
      configFile: join(dir, 'config.yaml'),
      env: { COUNTERSIGN_LOCAL_SECRETS: JSON.stringify({ [SLACK_SIGNING_ARN]: SIGNING_SECRET }) },
    });
  }, 240_000);
  afterAll(async () => {
    await cs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks on Slack and Teams, and takes a Slack click signed with the secret given for the signing secret ARN', async () => {
    // The banner names the local Secrets Manager, which answers the config's ARNs as the functions read them.
    expect(cs.endpoints.secretsManager).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const sm = clientFor(cs.endpoints.secretsManager);
    expect((await sm.send(new GetSecretValueCommand({ SecretId: SLACK_TOKEN_ARN }))).SecretString).toBe(LOCAL_SLACK_BOT_TOKEN);
    sm.destroy();

    const { status, body } = await api(cs.url, 'POST', '/v1/actions', 'agent-key-1', { action: 'data.export' });
    expect(status).toBe(202);
    const messages = await eventually(async () => {
      const mine = ((await api(cs.url, 'GET', '/_local/inbox.json')).body as Array<{ channel: string; to: string; actionId: string }>).filter(
        (m) => m.actionId === body.id,
      );
      return mine.length >= 4 ? mine : undefined;
    }, 30_000);
    expect(messages.map((m) => `${m.channel} ${m.to}`).sort()).toEqual(['email alice@example.com', 'slack C0APPROVALS', 'slack U0ALICE', 'teams teams']);

    const res = await postSlackClick(cs.url, SIGNING_SECRET, { user: 'U0ALICE', requestId: body.id, actionId: 'countersign_approve' });
    expect(res.status).toBe(200);
    await eventually(async () => ((await api(cs.url, 'GET', `/v1/actions/${body.id}`, 'agent-key-1')).body.status === 'approved' ? true : undefined));
  });
});
