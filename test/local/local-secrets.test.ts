/**
 * Local mode's Secrets Manager (local/secrets-manager.ts): the endpoint checked through the real SDK v3
 * SecretsManagerClient.
 */
import { request } from 'node:http';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretsManager } from '../../local/secrets-manager';

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
