/**
 * SDK v3 clients, created once per cold start. Endpoints come from the standard AWS_ENDPOINT_URL_<SERVICE>
 * variables, which local mode points at its own DynamoDB, Step Functions and KMS endpoints: same code path as on AWS.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
export const sfn = new SFNClient({});
export const kms = new KMSClient({});
