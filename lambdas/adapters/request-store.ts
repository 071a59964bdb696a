/**
 * The requests table: per request, what the ledger cannot hold. The server-side task token (never answered to
 * anyone), the receipt, and the status for listing. Status and votes are always derived from the ledger; this item
 * only caches the outcome once it is settled.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RequestStatus } from '../core/request';
import { dynamo, requiredEnv } from './aws-clients';

const table = () => requiredEnv('REQUESTS_TABLE');

export interface RequestItem {
  readonly id: string;
  readonly requester: string;
  readonly status: RequestStatus;
  readonly createdAt: string;
  readonly taskToken?: string;
  readonly receipt?: string;
}

/** Creates the item once; a retried intake finds it and changes nothing. */
export async function putRequestItem(item: Pick<RequestItem, 'id' | 'requester' | 'status' | 'createdAt'>): Promise<void> {
  try {
    await dynamo.send(new PutCommand({ TableName: table(), Item: item, ConditionExpression: 'attribute_not_exists(id)' }));
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
}

export async function getRequestItem(id: string): Promise<RequestItem | undefined> {
  const { Item } = await dynamo.send(new GetCommand({ TableName: table(), Key: { id }, ConsistentRead: true }));
  return Item as RequestItem | undefined;
}

/** Keeps the Notify task's latest token; each attempt of the task has its own. */
export async function storeTaskToken(id: string, taskToken: string): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: table(),
      Key: { id },
      UpdateExpression: 'SET taskToken = :t',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: { ':t': taskToken },
    }),
  );
}

/** Caches the settled outcome (and the receipt of an approval); the first receipt stored is kept. */
export async function cacheOutcome(id: string, status: Exclude<RequestStatus, 'pending'>, receipt?: string): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: table(),
      Key: { id },
      UpdateExpression: receipt ? 'SET #s = :s, receipt = if_not_exists(receipt, :r)' : 'SET #s = :s',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': status, ...(receipt ? { ':r': receipt } : {}) },
    }),
  );
}
