/**
 * The requests table: per request, what the ledger cannot hold. The server-side task token (never answered to
 * anyone), the receipt, and the status for listing. Status and votes are always derived from the ledger; this item
 * only caches the outcome once it is settled.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PendingSummary, RepairDue, RequestItem, RequestStore } from '../core/ports';
import { PENDING_SHARDS, PENDING_SUMMARY_ATTRIBUTES, pendingShardOf, REPAIR_INDEX } from '../core/request';

/** Due requests one repair-index query takes. */
const REPAIR_PAGE = 50;

/** The requests table (core/ports.ts `RequestStore`). */
export function requestsTable(dynamo: DynamoDBDocumentClient, table: () => string): RequestStore {
  return {
    /**
     * Creates the item once; a retried intake finds it and changes nothing. A pending one joins the pending and
     * repair indexes, due for the repair job's first look at its creation.
     */
    async put(item) {
      const Item = item.status === 'pending' ? { ...item, pendingShard: pendingShardOf(item.id), repairAt: item.createdAt } : item;
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

    /** Keeps the Notify task's latest token; each attempt of the task has its own. False when there is no item yet. */
    async storeTaskToken(id, taskToken) {
      try {
        await dynamo.send(
          new UpdateCommand({
            TableName: table(),
            Key: { id },
            UpdateExpression: 'SET taskToken = :t',
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeValues: { ':t': taskToken },
          }),
        );
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        return false;
      }
    },

    /** Caches the settled outcome; the request leaves the pending and repair indexes. */
    async cacheOutcome(id, status) {
      await dynamo.send(
        new UpdateCommand({
          TableName: table(),
          Key: { id },
          UpdateExpression: 'SET #s = :s REMOVE pendingShard, repairAt',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': status },
        }),
      );
    },

    /** Stores an approval's receipt unless one is stored already; answers the item after (the first receipt is kept). */
    async storeReceipt(id, receipt, replacing) {
      const { Attributes } = await dynamo
        .send(
          new UpdateCommand({
            TableName: table(),
            Key: { id },
            ...(replacing === undefined
              ? {
                  UpdateExpression: 'SET receipt = if_not_exists(receipt, :r)',
                  ConditionExpression: 'attribute_exists(id)',
                  ExpressionAttributeValues: { ':r': receipt },
                }
              : {
                  UpdateExpression: 'SET receipt = :r',
                  ConditionExpression: 'receipt = :old',
                  ExpressionAttributeValues: { ':r': receipt, ':old': replacing },
                }),
            ReturnValues: 'ALL_NEW',
          }),
        )
        .catch((err: unknown) => {
          if (err instanceof ConditionalCheckFailedException) return { Attributes: undefined };
          throw err;
        });
      // Another caller replaced it first (or there is no item): the item as stored.
      if (!Attributes && replacing !== undefined) return this.get(id);
      return Attributes ? { ...(Attributes as RequestItem), receipt: String(Attributes.receipt ?? receipt) } : undefined;
    },

    async scheduleRepair(id, at, options = {}) {
      const names: Record<string, string> = { '#r': 'repairAt' };
      const values: Record<string, unknown> = { ':r': at };
      let update = 'SET #r = :r';
      if (options.voters) {
        names['#v'] = 'voters';
        values[':v'] = [...options.voters];
        update += ', #v = :v';
      }
      let condition = 'attribute_exists(pendingShard)';
      if (options.ifAt !== undefined) {
        values[':if'] = options.ifAt;
        condition += ' AND #r = :if';
      }
      if (options.addVoter !== undefined) {
        // A list (a repeated vote may add a name twice, which is harmless): the projection stays plain JSON.
        names['#v'] = 'voters';
        values[':nv'] = [options.addVoter];
        values[':empty'] = [];
        update += ', #v = list_append(if_not_exists(#v, :empty), :nv)';
      }
      try {
        const { Attributes } = await dynamo.send(
          new UpdateCommand({
            TableName: table(),
            Key: { id },
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'UPDATED_OLD',
          }),
        );
        return Attributes?.repairAt === undefined ? undefined : String(Attributes.repairAt);
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return undefined;
        throw err;
      }
    },

    /** A merge of every shard's due requests, oldest first, each shard read a page at a time as the merge needs it. */
    async *dueForRepair(before) {
      type Shard = { buffered: RepairDue[]; startKey?: Record<string, unknown>; done: boolean; shard: string };
      const shards: Shard[] = Array.from({ length: PENDING_SHARDS }, (_, i) => ({ buffered: [], done: false, shard: `p${i}` }));
      const fill = async (s: Shard) => {
        const { Items = [], LastEvaluatedKey } = await dynamo.send(
          new QueryCommand({
            TableName: table(),
            IndexName: REPAIR_INDEX,
            KeyConditionExpression: 'pendingShard = :p AND #r <= :before',
            ExpressionAttributeNames: { '#i': 'id', '#r': 'repairAt' },
            ExpressionAttributeValues: { ':p': s.shard, ':before': before },
            ProjectionExpression: '#i, #r',
            Limit: REPAIR_PAGE,
            ExclusiveStartKey: s.startKey,
          }),
        );
        s.buffered.push(...Items.map((item) => ({ id: String(item.id), repairAt: String(item.repairAt) })));
        s.startKey = LastEvaluatedKey;
        s.done = LastEvaluatedKey === undefined;
      };
      await Promise.all(shards.map(fill));
      for (;;) {
        await Promise.all(shards.filter((s) => s.buffered.length === 0 && !s.done).map(fill));
        let next: Shard | undefined;
        for (const s of shards) if (s.buffered[0] && (!next || s.buffered[0].repairAt < next.buffered[0]!.repairAt)) next = s;
        if (!next) return;
        yield next.buffered.shift()!;
      }
    },

    /** From the repair index, which holds every pending request with its summary. */
    async pendingSummaries() {
      const shards = await Promise.all(
        Array.from({ length: PENDING_SHARDS }, async (_, shard) => {
          const summaries: PendingSummary[] = [];
          let startKey: Record<string, unknown> | undefined;
          do {
            const page = await dynamo.send(
              new QueryCommand({
                TableName: table(),
                IndexName: REPAIR_INDEX,
                KeyConditionExpression: 'pendingShard = :p',
                ExpressionAttributeValues: { ':p': `p${shard}` },
                ProjectionExpression: ['id', ...PENDING_SUMMARY_ATTRIBUTES].map((_, i) => `#a${i}`).join(', '),
                ExpressionAttributeNames: Object.fromEntries(['id', ...PENDING_SUMMARY_ATTRIBUTES].map((name, i) => [`#a${i}`, name])),
                ExclusiveStartKey: startKey,
              }),
            );
            for (const item of page.Items ?? []) summaries.push(item as PendingSummary);
            startKey = page.LastEvaluatedKey;
          } while (startKey);
          return summaries;
        }),
      );
      return shards.flat();
    },
  };
}
