/**
 * Ledger checkpoints: signed statements that commit to every record of the ledger so far, in the spirit of
 * CloudTrail's digest files. Per-request chains show an edit inside one request; checkpoints also show a request
 * whose records were all deleted, a record inserted later, and the newest records cut off.
 *
 * Checkpoint n covers the records with `from < at <= until`, where `from` is checkpoint n-1's `until`: their
 * leaves `[requestId, seq, hash]`, sorted, form an RFC 6962 Merkle tree whose root the checkpoint signs, with the
 * leaf count, the running total and the previous checkpoint's hash. The leaves themselves are stored beside it in
 * pages (unsigned: the root authenticates them), so a verifier can name each record that should be there.
 *
 * A record is only written within the write window of its `at` (the appender re-stamps it otherwise), and a
 * checkpoint covers records only up to a settle time longer than that window, so no record can land in a range
 * already checkpointed.
 */
import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { GENESIS_HASH } from './ledger-record';
import { shardOf } from './request';
import * as z from './zod';

/** The ledger table's index of records by write slot, which checkpoints read instead of the whole table. */
export const LEDGER_SLOT_INDEX = 'bySlot';
/** Records of one hour spread over this many index partitions, so no index partition takes every write. */
export const SLOT_SHARDS = 16;
/** The ledger partition holding the checkpoints (a request id always starts with `act_`). */
export const CHECKPOINT_PARTITION = 'checkpoint';
/** `from` of the first checkpoint: it covers every record before its `until`. */
export const LEDGER_ORIGIN = '1970-01-01T00:00:00.000Z';
/** Leaves per stored page: ~110 bytes each, well inside DynamoDB's 400 KB item limit. */
export const LEAVES_PER_PAGE = 2000;

const iso = z.iso.datetime();
const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'));

export const checkpointSchema = z.strictObject({
  requestId: z.literal(CHECKPOINT_PARTITION),
  seq: z.int().check(z.gte(1)),
  type: z.literal('checkpoint'),
  at: iso,
  /** Exclusive lower bound of the records' `at` this checkpoint covers. */
  from: iso,
  /** Inclusive upper bound. */
  until: iso,
  count: z.int().check(z.gte(0)),
  /** Records covered by this checkpoint and every one before it. */
  total: z.int().check(z.gte(0)),
  root: sha256Hex,
  pages: z.int().check(z.gte(0)),
  /** Names this checkpoint's leaf pages; a run that lost the race to write checkpoint n leaves its pages unnamed. */
  pagesId: z.string().check(z.regex(/^[A-Za-z0-9_-]{8,32}$/)),
  prevHash: sha256Hex,
  keyId: z.string().check(z.minLength(1)),
  hash: sha256Hex,
  signature: z.base64(),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;
export type UnsignedCheckpoint = Omit<Checkpoint, 'hash' | 'signature'>;

export const leafSchema = z.tuple([z.string().check(z.minLength(1)), z.int().check(z.gte(1)), sha256Hex]);
/** `[requestId, seq, hash]` of one record. */
export type Leaf = z.infer<typeof leafSchema>;

export const leavesPageSchema = z.strictObject({
  /** `checkpoint#<n>#<pagesId>` */
  requestId: z.string().check(z.regex(/^checkpoint#\d+#[A-Za-z0-9_-]{8,32}$/)),
  /** The page number, from 1. */
  seq: z.int().check(z.gte(1)),
  type: z.literal('checkpoint_leaves'),
  checkpoint: z.int().check(z.gte(1)),
  pagesId: z.string(),
  from: iso,
  until: iso,
  leaves: z.array(leafSchema),
});
export type LeavesPage = z.infer<typeof leavesPageSchema>;

export function leavesPartition(checkpoint: number, pagesId: string): string {
  return `${CHECKPOINT_PARTITION}#${checkpoint}#${pagesId}`;
}

/** Canonical leaf order: by request id, then seq. */
export function compareLeaves(a: Leaf, b: Leaf): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] - b[1];
}

/** A leaf's bytes in the tree: its canonical JSON. */
export function leafBytes(leaf: Leaf): Buffer {
  return Buffer.from(leafJson(leaf), 'utf8');
}

/** A leaf's canonical JSON: JSON.stringify's spelling, for the [string, integer, string] a leaf is. */
function leafJson(leaf: Leaf): string {
  const [requestId, seq, recordHash] = leaf;
  return leaf.length === 3 && typeof requestId === 'string' && Number.isSafeInteger(seq) && typeof recordHash === 'string'
    ? JSON.stringify(leaf)
    : canonicalize(leaf)!;
}

/**
 * RFC 6962 Merkle Tree Hash (section 2.1) of the given inputs, in order: the empty tree hashes the empty string,
 * a leaf is SHA-256(0x00 ‖ data) and a node SHA-256(0x01 ‖ left ‖ right), so a leaf never passes for a node.
 */
export function merkleTreeHash(data: readonly Uint8Array[]): Buffer {
  return Buffer.from(treeHash(data.map((d) => hash('sha256', Buffer.concat([LEAF, d]), 'binary'))), 'binary');
}

/** The Merkle root a checkpoint signs over its leaves, in the given (canonical) order. */
export function merkleRoot(leaves: readonly Leaf[]): string {
  // 0x00 ‖ the leaf's UTF-8 canonical JSON, hashed as one string: U+0000 is the byte 0x00 in UTF-8.
  return Buffer.from(treeHash(leaves.map((leaf) => hash('sha256', `\u0000${leafJson(leaf)}`, 'binary'))), 'binary').toString('hex');
}

const LEAF = Buffer.from([0]);

/**
 * The root over the leaves' hashes (each a 'binary' string: one char per byte). Bottom-up pairing in order, carrying an
 * odd last node up unchanged, builds the same tree as the RFC's split at the largest power of two below n, without
 * recursion: a million leaves need no deep stack. Digests are strings and each node is hashed from one scratch
 * buffer: a Buffer per digest (a backing store each, for the collector to free) took three times as long.
 */
function treeHash(leafHashes: string[]): string {
  if (leafHashes.length === 0) return hash('sha256', '', 'binary');
  const node = Buffer.alloc(65);
  node[0] = 1;
  let level = leafHashes;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      if (right === undefined) {
        next.push(level[i]!);
        continue;
      }
      node.write(level[i]!, 1, 'binary');
      node.write(right, 33, 'binary');
      next.push(hash('sha256', node, 'binary'));
    }
    level = next;
  }
  return level[0]!;
}

/** A record's slot-index keys: the hour of its `at` and its request's shard; sorted within the slot by `at`. */
export function slotKeys(record: { requestId: string; seq: number; at: string }): { slot: string; rk: string } {
  return {
    slot: `${record.at.slice(0, 13)}#${String(shardOf(record.requestId, SLOT_SHARDS)).padStart(2, '0')}`,
    rk: `${record.at}#${record.requestId}#${String(record.seq).padStart(10, '0')}`,
  };
}

/** The `at` a slot-index sort key starts with. */
export function atOfSortKey(rk: string): string {
  return rk.slice(0, rk.indexOf('#'));
}

const HOUR_MS = 3_600_000;

/** Every slot that may hold a record with `from < at <= until`: each hour touched, each shard. */
export function slotsBetween(from: string, until: string): string[] {
  const slots: string[] = [];
  const first = Math.floor(Date.parse(from) / HOUR_MS) * HOUR_MS;
  for (let hour = first; hour <= Date.parse(until); hour += HOUR_MS) {
    const prefix = new Date(hour).toISOString().slice(0, 13);
    for (let shard = 0; shard < SLOT_SHARDS; shard++) slots.push(`${prefix}#${String(shard).padStart(2, '0')}`);
  }
  return slots;
}

export interface CheckpointPlan {
  readonly unsigned: UnsignedCheckpoint;
  readonly pages: LeavesPage[];
}

/**
 * The next checkpoint after `previous` (none: the first), covering `leaves` (any order; sorted here) up to
 * `until`. Pure: the caller finds the leaves, signs `unsigned` and stores the pages, then the checkpoint.
 */
export function planCheckpoint(input: {
  previous: Checkpoint | undefined;
  leaves: readonly Leaf[];
  until: string;
  at: Date;
  keyId: string;
  pagesId: string;
}): CheckpointPlan {
  const { previous, until, pagesId } = input;
  const from = previous?.until ?? LEDGER_ORIGIN;
  if (Date.parse(until) < Date.parse(from)) throw new RangeError(`checkpoint until ${until} is before its from ${from}`);
  const leaves = [...input.leaves].sort(compareLeaves);
  const seq = (previous?.seq ?? 0) + 1;
  const pages: LeavesPage[] = [];
  for (let i = 0; i < leaves.length; i += LEAVES_PER_PAGE) {
    pages.push({
      requestId: leavesPartition(seq, pagesId),
      seq: pages.length + 1,
      type: 'checkpoint_leaves',
      checkpoint: seq,
      pagesId,
      from,
      until,
      leaves: leaves.slice(i, i + LEAVES_PER_PAGE),
    });
  }
  return {
    unsigned: {
      requestId: CHECKPOINT_PARTITION,
      seq,
      type: 'checkpoint',
      at: input.at.toISOString(),
      from,
      until,
      count: leaves.length,
      total: (previous?.total ?? 0) + leaves.length,
      root: merkleRoot(leaves),
      pages: pages.length,
      pagesId,
      prevHash: previous?.hash ?? GENESIS_HASH,
      keyId: input.keyId,
    },
    pages,
  };
}
