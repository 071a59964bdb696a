/**
 * Ended console sessions (core/ports.ts `ConsoleSessions`), as items of the requests table keyed
 * `console-session#<sid>`: no request id can take that shape (`act_…`), and neither index holds them (both are
 * sparse, on attributes these items never have). Each holds when the session would have expired, after which its
 * cookie opens nothing anyway.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConsoleSessions } from '../core/ports';

const keyOf = (sid: string) => `console-session#${sid}`;

export function consoleSessionsTable(dynamo: DynamoDBDocumentClient, table: () => string): ConsoleSessions {
  return {
    async end(sid, until) {
      await dynamo.send(new PutCommand({ TableName: table(), Item: { id: keyOf(sid), endedUntil: until.toISOString() } }));
    },
    async ended(sid) {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table(), Key: { id: keyOf(sid) }, ConsistentRead: true, ProjectionExpression: 'id' }));
      return Item !== undefined;
    },
  };
}
