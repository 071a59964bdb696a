/**
 * The grant index (core/ports.ts `GrantIndex`): items of the requests table keyed `grant#<grant id>`, which no
 * request id can take (`act_…`). Only they carry `grantScope` and `grantUntil`, so the `grants` index is sparse and
 * holds them alone: intake queries one scope key, and listing scans that index (grants only, never requests).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { GRANT_INDEX } from '../core/grant';
import type { GrantIndex, IndexedGrant } from '../core/ports';

const keyOf = (grantId: string) => `grant#${grantId}`;

const indexed = (item: Record<string, unknown>): IndexedGrant => ({
  id: String(item.grantId),
  requestId: String(item.requestId),
  until: String(item.grantUntil),
  rule: String(item.grantRule),
  ruleDigest: String(item.grantDigest),
});

export function grantIndexTable(dynamo: DynamoDBDocumentClient, table: () => string): GrantIndex {
  return {
    async put(grant) {
      await dynamo.send(
        new PutCommand({
          TableName: table(),
          Item: {
            id: keyOf(grant.id),
            grantId: grant.id,
            requestId: grant.requestId,
            grantScope: grant.scopeKey,
            grantUntil: grant.until,
            grantRule: grant.rule,
            grantDigest: grant.ruleDigest,
          },
        }),
      );
    },

    async find(scopeKey, now) {
      const found: IndexedGrant[] = [];
      const pages = paginateQuery(
        { client: dynamo },
        {
          TableName: table(),
          IndexName: GRANT_INDEX,
          KeyConditionExpression: 'grantScope = :k AND grantUntil > :now',
          ExpressionAttributeValues: { ':k': scopeKey, ':now': now.toISOString() },
        },
      );
      for await (const page of pages) found.push(...(page.Items ?? []).map(indexed));
      return found;
    },

    async list(since, limit) {
      const found: IndexedGrant[] = [];
      const pages = paginateScan(
        { client: dynamo },
        { TableName: table(), IndexName: GRANT_INDEX, FilterExpression: 'grantUntil > :since', ExpressionAttributeValues: { ':since': since.toISOString() } },
      );
      for await (const page of pages) {
        found.push(...(page.Items ?? []).map(indexed));
        if (found.length >= limit) break;
      }
      return found.slice(0, limit);
    },
  };
}
