/**
 * The grant index (core/ports.ts `GrantIndex`): items of the requests table keyed `grant#<grant id>`, which no
 * request id can take (`act_…`). Only they carry `grantScope` and `grantUntil`, so the `grants` index is sparse and
 * holds them alone: intake queries one scope key, and listing scans that index (grants only, never requests).
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, paginateQuery, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { GRANT_INDEX, GRANT_TTL_ATTRIBUTE } from '../core/grant';
import type { GrantIndex, IndexedGrant } from '../core/ports';

const keyOf = (grantId: string) => `grant#${grantId}`;

/** The scope a retired (revoked or ended) grant moves to: no request's scope key (a hex digest) can be it. */
const RETIRED_SCOPE = 'retired';

/** How long a lapsed grant's item stays, for `?status=all` (the last 7 days), before the table's TTL removes it. */
const KEPT_AFTER_LAPSE_SECONDS = 7 * 86_400;

const indexed = (item: Record<string, unknown>): IndexedGrant => ({
  id: String(item.grantId),
  requestId: String(item.requestId),
  until: String(item.grantUntil),
  rule: String(item.grantRule),
  ruleDigest: String(item.grantDigest),
  retired: item.grantScope === RETIRED_SCOPE,
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
            [GRANT_TTL_ATTRIBUTE]: Math.ceil(Date.parse(grant.until) / 1000) + KEPT_AFTER_LAPSE_SECONDS,
          },
        }),
      );
    },

    async retire(grantId) {
      try {
        await dynamo.send(
          new UpdateCommand({
            TableName: table(),
            Key: { id: keyOf(grantId) },
            UpdateExpression: 'SET grantScope = :retired',
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeValues: { ':retired': RETIRED_SCOPE },
          }),
        );
      } catch (err) {
        // Never indexed (or gone with its TTL): nothing for intake to find.
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    },

    async find(scopeKey, now, limit) {
      const found: IndexedGrant[] = [];
      const pages = paginateQuery(
        { client: dynamo },
        {
          TableName: table(),
          IndexName: GRANT_INDEX,
          KeyConditionExpression: 'grantScope = :k AND grantUntil > :now',
          ExpressionAttributeValues: { ':k': scopeKey, ':now': now.toISOString() },
          ScanIndexForward: false,
          Limit: limit,
        },
      );
      for await (const page of pages) {
        found.push(...(page.Items ?? []).map(indexed));
        if (found.length >= limit) break;
      }
      return found.slice(0, limit);
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
