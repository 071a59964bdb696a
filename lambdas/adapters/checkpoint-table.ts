/**
 * Writes ledger checkpoints (see core/checkpoint.ts) into the ledger table: checkpoint n at partition `checkpoint`,
 * seq n, its leaf pages at partition `checkpoint#<n>#<pagesId>`, all by conditional PutItem, so two runs can never
 * both write checkpoint n and a run that loses leaves only unreferenced pages behind.
 */
import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  atOfSortKey,
  CHECKPOINT_PARTITION,
  type Checkpoint,
  type CheckpointPlan,
  checkpointSchema,
  LEDGER_ORIGIN,
  LEDGER_SLOT_INDEX,
  type Leaf,
  planCheckpoint,
  slotsBetween,
} from '../core/checkpoint';
import { signedDigest } from '../core/ledger-record';
import type { CheckpointWriter, LedgerSigner } from '../core/ports';
import * as z from '../core/zod';

export interface CheckpointTableOptions {
  readonly tableName: string;
  readonly dynamo: DynamoDBDocumentClient;
  /** The ledger key; its id is recorded in every checkpoint. */
  readonly signer: LedgerSigner;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

const HOUR_MS = 3_600_000;
/** A gap longer than this (the checkpointer was off) is read with one Scan rather than 16 queries per hour. */
const SCAN_GAP_MS = 7 * 24 * HOUR_MS;
/** Slot queries in flight at once. */
const QUERY_CONCURRENCY = 8;

/** The ledger's checkpoints (core/ports.ts `CheckpointWriter`), in the ledger table. */
export class CheckpointTable implements CheckpointWriter {
  private readonly options: CheckpointTableOptions;
  private readonly clock: () => Date;

  constructor(options: CheckpointTableOptions) {
    this.options = options;
    this.clock = options.clock ?? (() => new Date());
  }

  /** The newest checkpoint, if any. */
  async latest(): Promise<Checkpoint | undefined> {
    const { Items } = await this.options.dynamo.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'requestId = :cp',
        ExpressionAttributeValues: { ':cp': CHECKPOINT_PARTITION },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return Items?.[0] ? z.parse(checkpointSchema, Items[0]) : undefined;
  }

  /**
   * Writes checkpoints until the ledger is covered up to `settleSeconds` ago or `deadline` nears; one at least,
   * even over no records, so a missing checkpoint always means something. Each covers at most an hour of slots,
   * so one run's memory stays bounded however far behind it starts. Returns what it wrote.
   */
  async run(input: { settleSeconds: number; deadline: number; onWritten?: (checkpoint: Checkpoint) => void }): Promise<Checkpoint[]> {
    const written: Checkpoint[] = [];
    let previous = await this.latest();
    for (;;) {
      const limit = this.clock().getTime() - input.settleSeconds * 1000;
      const from = previous?.until ?? LEDGER_ORIGIN;
      if (Date.parse(from) >= limit) return written;
      const scan = previous === undefined || limit - Date.parse(from) > SCAN_GAP_MS;
      const until = new Date(scan ? limit : Math.min(limit, Date.parse(from) + HOUR_MS)).toISOString();
      const leaves = scan ? await this.scanLeaves(from, until) : await this.slotLeaves(from, until);
      const plan = planCheckpoint({
        previous,
        leaves,
        until,
        at: this.clock(),
        keyId: this.options.signer.keyId,
        pagesId: randomBytes(12).toString('base64url'),
      });
      const checkpoint = await this.write(plan);
      if (!checkpoint) return written; // another run wrote this checkpoint
      written.push(checkpoint);
      input.onWritten?.(checkpoint);
      previous = checkpoint;
      if (Date.parse(until) >= limit || Date.now() >= input.deadline) return written;
    }
  }

  /** Signs and stores a planned checkpoint: pages first, then the checkpoint; undefined if seq n was taken. */
  async write(plan: CheckpointPlan): Promise<Checkpoint | undefined> {
    const digest = signedDigest(plan.unsigned);
    const signature = await this.options.signer.signDigest(digest);
    const checkpoint = z.parse(checkpointSchema, { ...plan.unsigned, hash: digest.toString('hex'), signature: Buffer.from(signature).toString('base64') });
    try {
      for (const page of plan.pages) await this.putNew(page);
      await this.putNew(checkpoint);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
    return checkpoint;
  }

  private putNew(item: Record<string, unknown>) {
    return this.options.dynamo.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#seq)',
        ExpressionAttributeNames: { '#seq': 'seq' },
      }),
    );
  }

  /** Leaves of the records with from < at <= until, from the slot index: 16 shards per hour touched. */
  private async slotLeaves(from: string, until: string): Promise<Leaf[]> {
    const slots = slotsBetween(from, until);
    const leaves: Leaf[] = [];
    const next = async (): Promise<void> => {
      const slot = slots.pop();
      if (slot === undefined) return;
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.options.dynamo.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: LEDGER_SLOT_INDEX,
            KeyConditionExpression: '#slot = :slot AND #rk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#slot': 'slot', '#rk': 'rk' },
            // '#' sorts below every character of a request id, '\uffff' above: the bounds take all of until's records.
            ExpressionAttributeValues: { ':slot': slot, ':lo': from, ':hi': `${until}#\uffff` },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const at = atOfSortKey(String(item.rk));
          if (at > from && at <= until) leaves.push([String(item.requestId), Number(item.seq), String(item.hash)]);
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return next();
    };
    await Promise.all(Array.from({ length: QUERY_CONCURRENCY }, next));
    return leaves;
  }

  /** Leaves of the records with from < at <= until, by scanning the table (the first checkpoint, long gaps). */
  private async scanLeaves(from: string, until: string): Promise<Leaf[]> {
    const leaves: Leaf[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.dynamo.send(
        new ScanCommand({
          TableName: this.options.tableName,
          FilterExpression: 'NOT begins_with(#rid, :cp) AND #at > :from AND #at <= :until',
          ProjectionExpression: '#rid, #seq, #hash',
          ExpressionAttributeNames: { '#rid': 'requestId', '#seq': 'seq', '#hash': 'hash', '#at': 'at' },
          ExpressionAttributeValues: { ':cp': CHECKPOINT_PARTITION, ':from': from, ':until': until },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) leaves.push([String(item.requestId), Number(item.seq), String(item.hash)]);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return leaves;
  }
}
