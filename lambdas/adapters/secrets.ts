/**
 * Secrets named in the config: `env:NAME` reads the environment (local mode, tests); a Secrets Manager ARN is
 * fetched once per cold start. Values are never logged.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { countingFailures } from './dependency-metrics';

/** Longest wait for Secrets Manager (the SDK's own retries included); a failure is retried by the next call. */
export const SECRET_FETCH_TIMEOUT_MS = 3000;

const cache = new Map<string, Promise<string>>();
let client: SecretsManagerClient | undefined;

export function resolveSecret(ref: string): Promise<string> {
  let value = cache.get(ref);
  if (!value) {
    value = fetchSecret(ref);
    // A failed fetch is retried by the next call, not cached.
    value.catch(() => cache.delete(ref));
    cache.set(ref, value);
  }
  return value;
}

async function fetchSecret(ref: string): Promise<string> {
  if (ref.startsWith('env:')) {
    const value = process.env[ref.slice(4)];
    if (!value) throw new Error(`secret ${ref} is not set in the environment`);
    return value;
  }
  client ??= countingFailures(new SecretsManagerClient({}), 'secretsmanager');
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: ref }), { abortSignal: AbortSignal.timeout(SECRET_FETCH_TIMEOUT_MS) });
  if (!SecretString) throw new Error(`secret ${ref} has no string value`);
  return SecretString;
}
