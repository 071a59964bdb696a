/**
 * Signing certificates in the ledger table (core/signing-certificate.ts): each in its own partition
 * `certificate#<id>` at seq 1, written by conditional PutItem so a certificate once written is never replaced, and
 * read back by id for the records that name it. They have no `at`, and their slot-index attributes put them in slots
 * of their own (`certificates#<hour>`), so checkpoints never count them as records; an export carries them as items of
 * their own, and a windowed export finds them by those slots.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  CERTIFICATE_PARTITION_PREFIX,
  certificateSlotKeys,
  isCertificateId,
  type SigningCertificate,
  signingCertificateSchema,
} from '../core/signing-certificate';
import * as z from '../core/zod';

/** Writes a certificate unless its partition holds one (then throws ConditionalCheckFailedException). */
export async function putCertificate(dynamo: DynamoDBDocumentClient, tableName: string, certificate: SigningCertificate): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: tableName,
      Item: { ...z.parse(signingCertificateSchema, certificate), ...certificateSlotKeys(certificate) },
      ConditionExpression: 'attribute_not_exists(#seq)',
      ExpressionAttributeNames: { '#seq': 'seq' },
    }),
  );
}

/** Certificates a chain may name: a handful (one per environment and hour that wrote to it), read one GetItem each. */
const MAX_IDS = 100;

/** The certificates with these ids that the table holds, in the order asked; ids that are not certificate ids are skipped. */
export async function readCertificates(dynamo: DynamoDBDocumentClient, tableName: string, ids: readonly string[]): Promise<SigningCertificate[]> {
  const wanted = [...new Set(ids)].filter(isCertificateId).slice(0, MAX_IDS);
  const found = await Promise.all(
    wanted.map(async (id) => {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: tableName, Key: { requestId: `${CERTIFICATE_PARTITION_PREFIX}${id}`, seq: 1 }, ConsistentRead: true }),
      );
      return Item ? storedCertificate(Item) : undefined;
    }),
  );
  return found.filter((c): c is SigningCertificate => c !== undefined);
}

/** A stored certificate minus its slot-index attributes, which are not part of what KMS signed. */
export function storedCertificate(item: Record<string, unknown>): SigningCertificate {
  const { slot: _slot, rk: _rk, ...certificate } = item;
  return z.parse(signingCertificateSchema, certificate);
}
