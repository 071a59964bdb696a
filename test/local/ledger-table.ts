/** The ledger table as the stack defines it (keys and the slot index), and the stores under it, for adapter tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { LEDGER_SLOT_INDEX } from '../../lambdas/core/checkpoint';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { dynamoWithTransactions } from '../../local/dynamo-transactions';
import { LocalKms } from '../../local/kms';

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
  // dynalite answers CreateTable before the table is ACTIVE (a timer, even at createTableMs 0): a busy machine could
  // reach it while it is still CREATING, which dynalite answers as ResourceNotFoundException.
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
}

/** dynalite and the local KMS endpoint with a ledger key, and SDK clients for both: what the ledger adapters run on. */
export interface LedgerStores {
  readonly dynamoUrl: string;
  readonly kmsUrl: string;
  readonly rawDynamo: DynamoDBClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly kms: KMSClient;
  /** The ECC_NIST_P256 ledger key's ARN. */
  readonly keyId: string;
  close(): Promise<void>;
}

export async function startLedgerStores(prefix: string): Promise<LedgerStores> {
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const dynaliteServer = dynalite({ createTableMs: 0 });
  const dynaliteUrl = await listenLoopback(dynaliteServer);
  // As local mode runs it: with the ledger's TransactWriteItems.
  const dynamoServer = dynamoWithTransactions(dynaliteUrl);
  const dynamoUrl = await listenLoopback(dynamoServer);
  const kmsServer = new LocalKms({ dataDir });
  const kmsUrl = await kmsServer.listen();
  const keyId = await kmsServer.ensureKey('alias/test-ledger', 'ECC_NIST_P256');
  const rawDynamo = new DynamoDBClient({ endpoint: dynamoUrl, region, credentials });
  const kms = new KMSClient({ endpoint: kmsUrl, region, credentials });
  return {
    dynamoUrl,
    kmsUrl,
    rawDynamo,
    dynamo: DynamoDBDocumentClient.from(rawDynamo, { marshallOptions: { removeUndefinedValues: true } }),
    kms,
    keyId,
    close: async () => {
      rawDynamo.destroy();
      kms.destroy();
      await kmsServer.close();
      await closeServer(dynamoServer);
      await closeServer(dynaliteServer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
