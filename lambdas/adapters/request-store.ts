/**
 * The requests table: per request, what the ledger cannot hold. The server-side task token (never answered to
 * anyone), the receipt, and the status for listing. Status and votes are always derived from the ledger; this item
 * only caches the outcome once it is settled.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PENDING_INDEX, PENDING_SHARDS, pendingShardOf, type RequestStatus } from '../core/request';
import { dynamo, requiredEnv } from './aws-clients';

const table = () => requiredEnv('requestsTable');

export interface RequestItem {
  readonly id: string;
  readonly requester: string;
  readonly status: RequestStatus;
  readonly createdAt: string;
  readonly taskToken?: string;
  readonly receipt?: string;
}

/** Creates the item once; a retried intake finds it and changes nothing. A pending one joins the pending index. */
export async function putRequestItem(item: Pick<RequestItem, 'id' | 'requester' | 'status' | 'createdAt'>): Promise<void> {
  const Item = item.status === 'pending' ? { ...item, pendingShard: pendingShardOf(item.id) } : item;
  try {
    await dynamo.send(new PutCommand({ TableName: table(), Item, ConditionExpression: 'attribute_not_exists(id)' }));
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

/** Ids of pending requests, oldest first, at most `limit`: from every shard of the pending index. */
export async function listPendingIds(limit: number): Promise<string[]> {
  const shards = await Promise.all(
    Array.from({ length: PENDING_SHARDS }, async (_, shard) => {
      const { Items = [] } = await dynamo.send(
        new QueryCommand({
          TableName: table(),
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pendingShard = :p',
          ExpressionAttributeValues: { ':p': `p${shard}` },
          Limit: limit,
        }),
      );
      return Items.map((item) => ({ id: String(item.id), createdAt: String(item.createdAt) }));
    }),
  );
  return shards
    .flat()
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
    .slice(0, limit)
    .map((item) => item.id);
}

/** Caches the settled outcome; the request leaves the pending index. */
export async function cacheOutcome(id: string, status: Exclude<RequestStatus, 'pending'>): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: table(),
      Key: { id },
      UpdateExpression: 'SET #s = :s REMOVE pendingShard',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': status },
    }),
  );
}

/** Stores an approval's receipt unless one is stored already; answers the stored one (the first is kept). */
export async function storeReceipt(id: string, receipt: string): Promise<string> {
  const { Attributes } = await dynamo.send(
    new UpdateCommand({
      TableName: table(),
      Key: { id },
      UpdateExpression: 'SET receipt = if_not_exists(receipt, :r)',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: { ':r': receipt },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return String(Attributes?.receipt ?? receipt);
}
