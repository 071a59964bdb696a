/**
 * The audit ledger table: one item per record (partition `requestId`, sort `seq`), written only by conditional
 * PutItem, so a record once written is never replaced and two writers can never both claim the same seq.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { slotKeys } from '../core/checkpoint';
import {
  type AuditEvent,
  type AuditRecord,
  auditRecordSchema,
  canonicalRecordJson,
  ledgerKeyRecordSigner,
  nextUnsignedRecord,
  recordDigest,
  type UnsignedRecord,
  withoutSignature,
} from '../core/ledger-record';
import type { AppendOptions, AuditLedger, LedgerSigner, RecordKey, RecordSigner } from '../core/ports';
import type { SigningCertificate } from '../core/signing-certificate';
import * as z from '../core/zod';
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
/** TransactWriteItems takes at most 100 items; no decision appends nearly as many records at once. */
const MAX_BATCH = 100;
/** Signing that keeps outlasting the write window means KMS is struggling: fail the step, it is retried. */
const MAX_RESTAMPS = 5;
export const DEFAULT_WRITE_WINDOW_SECONDS = 10;
/** Reads of a chain with a hole (a transaction in flight) before it is answered as it is. */
const HOLE_READS = 5;

/** Whether the records written are the ones planned (the same hashes: not stamped again). */
const sameRecords = (written: readonly AuditRecord[], planned: readonly AuditRecord[]) =>
  written.length === planned.length && written.every((record, i) => record.hash === planned[i]!.hash);

/** A stored item minus the slot-index attributes, which are not part of the signed record. */
export function storedRecord(item: Record<string, unknown>): AuditRecord {
  const { slot: _slot, rk: _rk, ...record } = item;
  return z.parse(auditRecordSchema, record);
}

/** The audit ledger (core/ports.ts `AuditLedger`) in its DynamoDB table, each record signed with its record key. */
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
   * Appends what `decide` says is still missing from the chain. `decide` (a pure function of the chain) is asked
   * again on the chain with each record it asked for added, stamped and hashed: a record's hash does not depend on
   * any signature, so the whole batch is known before anything is signed. The batch is then signed in parallel and
   * written in one call: a conditional PutItem for one record, one TransactWriteItems of conditional Puts for more
   * (all or none, so a failure never leaves a gap). Each record claims seq = head + 1, + 2, ... with
   * `attribute_not_exists`, so two writers never both claim a seq: the one that loses any of them writes nothing, reads
   * the new tail and decides again, and `decide` never acts on a stale view. A chain the caller passes as `known`
   * is decided on without reading; if it is stale the write loses the same way. Errors from `decide`, KMS and
   * DynamoDB propagate unchanged.
   *
   * DynamoDB calls: 1 Query (none with `known`) + 1 write, whatever the batch's size; signing: each record at once,
   * with the environment's certified key (no KMS call) or, without one, one KMS Sign per record. Serial depth: read, sign, write (3; 2 with `known`), against 1 + 2 per record one at a time before.
   */
  async append<T = never>(
    requestId: string,
    decide: (chain: readonly AuditRecord[]) => AuditEvent[],
    options: AppendOptions<T> = {},
  ): Promise<{ chain: AuditRecord[]; appended: AuditRecord[]; alongside?: T }> {
    const chain = options.known ? [...options.known] : await this.read(requestId);
    let conflicts = 0;
    for (;;) {
      const key = await this.recordSigner.recordKey();
      const batch = this.plan(chain, requestId, decide, key.keyId);
      if (batch.length === 0) return { chain, appended: [] };
      const planned = [...chain, ...batch];
      const [appended, alongside] = await Promise.all([this.signBatch(chain, requestId, batch, decide, key), options.alongside?.(planned)]);
      if (await this.write(appended)) {
        chain.push(...appended);
        return { chain, appended, ...(options.alongside && sameRecords(appended, batch) ? { alongside: alongside as T } : {}) };
      }
      conflicts += 1;
      if (conflicts >= MAX_CONFLICTS) {
        throw new Error(`audit ledger: gave up appending to ${requestId} after ${conflicts} conflicting writes`);
      }
      chain.push(...(await this.readAfter(requestId, chain.at(-1)?.seq ?? 0)));
    }
  }

  /** What `decide` asks for, record after record, on the chain with each one added (hashed, not yet signed). */
  private plan(chain: readonly AuditRecord[], requestId: string, decide: (chain: readonly AuditRecord[]) => AuditEvent[], keyId: string): AuditRecord[] {
    const at = this.clock();
    const batch: AuditRecord[] = [];
    for (;;) {
      const [event] = decide([...chain, ...batch]);
      if (!event) return batch;
      if (batch.length >= MAX_BATCH) throw new Error(`audit ledger: decide kept appending to ${requestId}`);
      const unsigned = nextUnsignedRecord([...chain, ...batch], requestId, event, at, keyId);
      batch.push({ ...unsigned, hash: recordDigest(unsigned).toString('hex'), signature: '' });
    }
  }

  /**
   * The batch signed, all at once, while its `at` is still within the write window; planned again (the same events,
   * a later `at`) when signing outlasted it.
   */
  private async signBatch(
    chain: readonly AuditRecord[],
    requestId: string,
    batch: readonly AuditRecord[],
    decide: (chain: readonly AuditRecord[]) => AuditEvent[],
    firstKey: RecordKey,
  ): Promise<AuditRecord[]> {
    let planned = batch;
    let key = firstKey;
    for (let attempt = 1; ; attempt++) {
      const signed = await Promise.all(planned.map((record) => this.sign(withoutSignature(record), key)));
      if (this.clock().getTime() - Date.parse(signed[0]!.at) <= this.writeWindowMs) return signed;
      if (attempt >= MAX_RESTAMPS) throw new Error(`audit ledger: signing took longer than the write window ${MAX_RESTAMPS} times`);
      key = await this.recordSigner.recordKey();
      planned = this.plan(chain, requestId, decide, key.keyId);
    }
  }

  /** Writes the records, all or none; false when another writer took one of their seqs first. */
  private async write(records: readonly AuditRecord[]): Promise<boolean> {
    const put = (record: AuditRecord) => ({
      TableName: this.tableName,
      Item: { ...record, ...slotKeys(record) },
      ConditionExpression: 'attribute_not_exists(#seq)',
      ExpressionAttributeNames: { '#seq': 'seq' },
    });
    try {
      if (records.length === 1) await this.dynamo.send(new PutCommand(put(records[0]!)));
      else await this.dynamo.send(new TransactWriteCommand({ TransactItems: records.map((record) => ({ Put: put(record) })) }));
      return true;
    } catch (err) {
      // A seq taken (ConditionalCheckFailed), or being taken by another writer's transaction right now.
      if (err instanceof ConditionalCheckFailedException || err instanceof TransactionConflictException) return false;
      if (err instanceof TransactionCanceledException) {
        const codes = (err.CancellationReasons ?? []).map((r) => r.Code);
        if (codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) return false;
      }
      throw err;
    }
  }

  private async sign(unsigned: UnsignedRecord, key: RecordKey): Promise<AuditRecord> {
    const canonical = canonicalRecordJson(unsigned);
    const signature = await key.sign(canonical);
    return z.parse(auditRecordSchema, {
      ...unsigned,
      hash: createHash('sha256').update(canonical, 'utf8').digest('hex'),
      signature: Buffer.from(signature).toString('base64'),
    });
  }

  /** The signing certificates with these ids that the table holds. */
  certificates(ids: readonly string[]): Promise<SigningCertificate[]> {
    return readCertificates(this.dynamo, this.tableName, ids);
  }

  /**
   * Records with seq > afterSeq, oldest first; consistent so a writer that lost a race sees the winner. A Query is
   * only read-committed against a transaction in flight: it may see some of its records and not others. A read with a
   * hole (seqs not following on) is such a moment, and is read again shortly, so `decide` only ever sees a chain
   * without holes: the records before the head are then all there is, and a stale head loses the write.
   */
  private async readAfter(requestId: string, afterSeq: number): Promise<AuditRecord[]> {
    for (let attempt = 1; ; attempt++) {
      const records = await this.queryAfter(requestId, afterSeq);
      if (records.every((record, i) => record.seq === afterSeq + i + 1) || attempt >= HOLE_READS) return records;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }

  private async queryAfter(requestId: string, afterSeq: number): Promise<AuditRecord[]> {
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
