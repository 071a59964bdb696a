/**
 * The requests table: per request, what the ledger cannot hold. The server-side task token (never answered to
 * anyone), the receipt, and the status for listing. Status and votes are always derived from the ledger; this item
 * only caches the outcome once it is settled.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RequestItem, RequestStore } from '../core/ports';
import { PENDING_INDEX, PENDING_SHARDS, pendingShardOf } from '../core/request';

/** The requests table (core/ports.ts `RequestStore`). */
export function requestsTable(dynamo: DynamoDBDocumentClient, table: () => string): RequestStore {
  return {
    /** Creates the item once; a retried intake finds it and changes nothing. A pending one joins the pending index. */
    async put(item) {
      const Item = item.status === 'pending' ? { ...item, pendingShard: pendingShardOf(item.id) } : item;
      try {
        await dynamo.send(new PutCommand({ TableName: table(), Item, ConditionExpression: 'attribute_not_exists(id)' }));
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        return false;
      }
    },

    async get(id) {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table(), Key: { id }, ConsistentRead: true }));
      return Item as RequestItem | undefined;
    },

    /** One attribute, strongly consistent: under 4 KB, one read unit whatever else the item holds. */
    async status(id) {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table(), Key: { id }, ConsistentRead: true, ProjectionExpression: '#s', ExpressionAttributeNames: { '#s': 'status' } }),
      );
      return Item?.status as RequestItem['status'] | undefined;
    },

    /** Keeps the Notify task's latest token; each attempt of the task has its own. */
    async storeTaskToken(id, taskToken) {
      await dynamo.send(
        new UpdateCommand({
          TableName: table(),
          Key: { id },
          UpdateExpression: 'SET taskToken = :t',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':t': taskToken },
        }),
      );
    },

    /** Ids of pending requests, oldest first, at most `limit`: from every shard of the pending index. */
    async listPending(limit) {
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
    },

    /** Caches the settled outcome; the request leaves the pending index. */
    async cacheOutcome(id, status) {
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
    },

    /** Stores an approval's receipt unless one is stored already; answers the item after (the first receipt is kept). */
    async storeReceipt(id, receipt) {
      const { Attributes } = await dynamo
        .send(
          new UpdateCommand({
            TableName: table(),
            Key: { id },
            UpdateExpression: 'SET receipt = if_not_exists(receipt, :r)',
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeValues: { ':r': receipt },
            ReturnValues: 'ALL_NEW',
          }),
        )
        .catch((err: unknown) => {
          if (err instanceof ConditionalCheckFailedException) return { Attributes: undefined };
          throw err;
        });
      return Attributes ? { ...(Attributes as RequestItem), receipt: String(Attributes.receipt ?? receipt) } : undefined;
    },
  };
}
