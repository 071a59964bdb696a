/** The ledger table as the stack defines it (keys and the slot index), for adapter tests on a bare dynalite. */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LEDGER_SLOT_INDEX } from '../../lambdas/core/checkpoint';

export async function createLedgerTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [
        { AttributeName: 'requestId', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'requestId', AttributeType: 'S' },
        { AttributeName: 'seq', AttributeType: 'N' },
        { AttributeName: 'slot', AttributeType: 'S' },
        { AttributeName: 'rk', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: LEDGER_SLOT_INDEX,
          KeySchema: [
            { AttributeName: 'slot', KeyType: 'HASH' },
            { AttributeName: 'rk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['hash'] },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}
