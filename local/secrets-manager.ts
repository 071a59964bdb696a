/**
 * Local AWS Secrets Manager endpoint: `GetSecretValue`, the only call Countersign makes (lambdas/adapters/secrets.ts),
 * spoken over the real wire protocol (awsJson1_1, `X-Amz-Target: secretsmanager.GetSecretValue`) so the functions'
 * unmodified SDK v3 `SecretsManagerClient` reads the config's secret ARNs from it. It serves exactly the secrets it is
 * given, read per call (the config can change while local mode runs); any other secret is a ResourceNotFoundException,
 * as on AWS, so a secret local mode has no value for fails visibly. Nothing is stored: the values are local mode's.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AwsServiceError, awsJsonHandler, LoopbackEndpoint, parseInput } from './aws-json';

export interface LocalSecretsManagerOptions {
  /** The secrets served, by ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`), read per call. */
  readonly secrets: () => Readonly<Record<string, string>>;
}

/** The staging label of a secret's current version, the one GetSecretValue answers by default. */
const CURRENT_STAGE = 'AWSCURRENT';

// Bounds from the Secrets Manager model.
const getSecretValueInput = z.object({
  SecretId: z.string().min(1).max(2048),
  VersionId: z.string().min(32).max(64).optional(),
  VersionStage: z.string().min(1).max(256).optional(),
});

/** Parts of a secret ARN: its name, and the partial ARN (without the 6-character suffix AWS appends to the name). */
const SECRET_ARN = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)(.+?)(-[A-Za-z0-9]{6})?$/;

function notFound(message = "Secrets Manager can't find the specified secret."): AwsServiceError {
  return new AwsServiceError('ResourceNotFoundException', message);
}

/** A version id of UUID shape, the same for as long as the secret's value is the same (as on AWS). */
function versionId(arn: string, value: string): string {
  const hex = createHash('sha256').update(arn).update('\0').update(value).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export class LocalSecretsManager extends LoopbackEndpoint {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;

  private readonly secrets: () => Readonly<Record<string, string>>;
  /** When the endpoint started: every version it serves was created then, as far as its answers tell. */
  private readonly createdDate = Date.now() / 1000;

  constructor(options: LocalSecretsManagerOptions) {
    super();
    this.secrets = options.secrets;
    this.handler = awsJsonHandler({
      targetPrefix: 'secretsmanager',
      contentType: 'application/x-amz-json-1.1',
      operations: { GetSecretValue: (input) => this.getSecretValue(input) },
    });
  }

  private getSecretValue(input: unknown) {
    const request = parseInput(getSecretValueInput, input);
    const found = this.find(request.SecretId);
    if (!found) throw notFound();
    const [arn, value] = found;
    const version = versionId(arn, value);
    if (request.VersionId !== undefined && request.VersionId !== version) {
      throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${request.VersionId}`);
    }
    if (request.VersionStage !== undefined && request.VersionStage !== CURRENT_STAGE) {
      throw notFound(`Secrets Manager can't find the specified secret value for staging label: ${request.VersionStage}`);
    }
    return {
      ARN: arn,
      Name: SECRET_ARN.exec(arn)?.[2] ?? arn,
      SecretString: value,
      VersionId: version,
      VersionStages: [CURRENT_STAGE],
      CreatedDate: this.createdDate,
    };
  }

  /** SecretId as GetSecretValue takes it: the secret's ARN, its partial ARN (no suffix), or its name. */
  private find(secretId: string): [arn: string, value: string] | undefined {
    const secrets = this.secrets();
    if (Object.hasOwn(secrets, secretId)) return [secretId, secrets[secretId]!];
    for (const [arn, value] of Object.entries(secrets)) {
      const parts = SECRET_ARN.exec(arn);
      if (parts && (secretId === `${parts[1]}${parts[2]}` || secretId === parts[2])) return [arn, value];
    }
    return undefined;
  }
}
