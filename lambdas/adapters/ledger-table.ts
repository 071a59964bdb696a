/**
 * The audit ledger table: one item per record (partition `requestId`, sort `seq`), written only by conditional
 * PutItem, so a record once written is never replaced and two writers can never both claim the same seq.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { slotKeys } from '../core/checkpoint';
import {
  type AuditEvent,
  type AuditRecord,
  auditRecordSchema,
  canonicalRecordJson,
  ledgerKeyRecordSigner,
  nextUnsignedRecord,
  type UnsignedRecord,
} from '../core/ledger-record';
import type { AuditLedger, LedgerSigner, RecordKey, RecordSigner } from '../core/ports';
import type { SigningCertificate } from '../core/signing-certificate';
import { readCertificates } from './certificate-store';

export interface LedgerTableOptions {
  readonly tableName: string;
  readonly dynamo: DynamoDBDocumentClient;
  /** The ledger key. */
  readonly signer: LedgerSigner;
  /**
   * What signs records, its key's id recorded in each as `keyId`: a certified environment key
   * (adapters/certified-signer.ts). @default the ledger key itself, one KMS Sign per record
   */
  readonly recordSigner?: RecordSigner;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /**
   * A record is put within this many seconds of its `at`, or stamped and signed again: checkpoints rely on no
   * record arriving later than that in a time range they have closed. @default 10
   */
  readonly writeWindowSeconds?: number;
}

/** Each conflict means another writer appended, so this only trips under pathological contention. */
const MAX_CONFLICTS = 50;
/** Signing that keeps outlasting the write window means KMS is struggling: fail the step, it is retried. */
const MAX_RESTAMPS = 5;
export const DEFAULT_WRITE_WINDOW_SECONDS = 10;

/** A stored item minus the slot-index attributes, which are not part of the signed record. */
export function storedRecord(item: Record<string, unknown>): AuditRecord {
  const { slot: _slot, rk: _rk, ...record } = item;
  return auditRecordSchema.parse(record);
}

/** The audit ledger (core/ports.ts `AuditLedger`) in its DynamoDB table, each record signed with the ledger key. */
export class LedgerTable implements AuditLedger {
  private readonly tableName: string;
  private readonly dynamo: DynamoDBDocumentClient;
  private readonly recordSigner: RecordSigner;
  private readonly clock: () => Date;
  private readonly writeWindowMs: number;

  constructor(options: LedgerTableOptions) {
    this.tableName = options.tableName;
    this.dynamo = options.dynamo;
    this.recordSigner = options.recordSigner ?? ledgerKeyRecordSigner(options.signer);
    this.clock = options.clock ?? (() => new Date());
    this.writeWindowMs = (options.writeWindowSeconds ?? DEFAULT_WRITE_WINDOW_SECONDS) * 1000;
  }

  /** The request's records, oldest first. */
  read(requestId: string): Promise<AuditRecord[]> {
    return this.readAfter(requestId, 0);
  }

  /**
   * Appends what `decide` says is still missing from the chain, one record at a time, until it says nothing is.
   * The chain itself serializes writers: each record claims seq = head + 1 with a conditional put, and a writer
   * that loses re-reads the new tail and decides again, so `decide` (a pure function of the chain) never acts on a
   * stale view. Errors from `decide`, KMS and DynamoDB propagate unchanged.
   */
  async append(requestId: string, decide: (chain: readonly AuditRecord[]) => AuditEvent[]): Promise<{ chain: AuditRecord[]; appended: AuditRecord[] }> {
    const chain = await this.read(requestId);
    const appended: AuditRecord[] = [];
    let conflicts = 0;
    for (;;) {
      const [event] = decide(chain);
      if (!event) return { chain, appended };
      const record = await this.stampAndSign(chain, requestId, event);
      try {
        await this.dynamo.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...record, ...slotKeys(record) },
            ConditionExpression: 'attribute_not_exists(#seq)',
            ExpressionAttributeNames: { '#seq': 'seq' },
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        conflicts += 1;
        if (conflicts >= MAX_CONFLICTS) {
          throw new Error(`audit ledger: gave up appending to ${requestId} after ${conflicts} conflicting writes`);
        }
        chain.push(...(await this.readAfter(requestId, chain.at(-1)?.seq ?? 0)));
        continue;
      }
      chain.push(record);
      appended.push(record);
    }
  }

  /** The next record, signed while its `at` is still within the write window. */
  private async stampAndSign(chain: readonly AuditRecord[], requestId: string, event: AuditEvent): Promise<AuditRecord> {
    for (let attempt = 1; ; attempt++) {
      const key = await this.recordSigner.recordKey();
      const record = await this.sign(nextUnsignedRecord(chain, requestId, event, this.clock(), key.keyId), key);
      if (this.clock().getTime() - Date.parse(record.at) <= this.writeWindowMs) return record;
      if (attempt >= MAX_RESTAMPS) throw new Error(`audit ledger: signing took longer than the write window ${MAX_RESTAMPS} times`);
    }
  }

  private async sign(unsigned: UnsignedRecord, key: RecordKey): Promise<AuditRecord> {
    const canonical = canonicalRecordJson(unsigned);
    const signature = await key.sign(canonical);
    return auditRecordSchema.parse({
      ...unsigned,
      hash: createHash('sha256').update(canonical, 'utf8').digest('hex'),
      signature: Buffer.from(signature).toString('base64'),
    });
  }

  /** The signing certificates with these ids that the table holds. */
  certificates(ids: readonly string[]): Promise<SigningCertificate[]> {
    return readCertificates(this.dynamo, this.tableName, ids);
  }

  /** Records with seq > afterSeq, oldest first; consistent so a writer that lost a race sees the winner. */
  private async readAfter(requestId: string, afterSeq: number): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'requestId = :requestId AND #seq > :afterSeq',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':requestId': requestId, ':afterSeq': afterSeq },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) records.push(storedRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }
}
