/**
 * SDK v3 clients, each created the first time it is asked for and kept for the life of the execution environment.
 * Endpoints come from the standard AWS_ENDPOINT_URL_<SERVICE> variables, which local mode points at its own DynamoDB,
 * Step Functions and KMS endpoints: same code path as on AWS.
 *
 * Each is a pure (`@__PURE__`) top-level value, so a function whose code never asks for a client leaves the client's
 * SDK package out of its bundle (esbuild drops unused pure declarations; the SDK packages declare no side effects).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { countingFailures } from './dependency-metrics';

/** `make`, run the first time it is asked for and remembered. */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

export const dynamo = /* @__PURE__ */ once(() =>
  DynamoDBDocumentClient.from(countingFailures(new DynamoDBClient({}), 'dynamodb'), {
    marshallOptions: { removeUndefinedValues: true },
  }),
);
export const sfn = /* @__PURE__ */ once(() => countingFailures(new SFNClient({}), 'states'));
export const kms = /* @__PURE__ */ once(() => countingFailures(new KMSClient({}), 'kms'));
