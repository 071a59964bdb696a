/** The ledger table as the stack defines it (keys and the slot index), and the stores under it, for adapter tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { dynamoWithTransactions } from '../../local/dynamo-transactions';
import { LocalKms } from '../../local/kms';
import { createTable, LEDGER_TABLE_SCHEMA } from '../fixtures/tables';

export function createLedgerTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(dynamo, tableName, LEDGER_TABLE_SCHEMA);
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
