/**
 * One run at a time, without reserved concurrency (which new accounts, with a Lambda concurrency quota of 10, cannot
 * grant): a scheduled run first takes a lease, an item in the requests table written by a conditional PutItem that
 * succeeds only when no lease is there or the one there has expired. The lease expires when the run must have
 * ended (the function's timeout, from the invocation's remaining time), so it never outlives a run, and a run that
 * crashed or timed out cannot keep the next one out. A run that finds the lease held does nothing and exits cleanly.
 * The run gives the lease back when it ends, so the next one need not wait for the expiry.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LEASES, type LeaseName } from '../core/lease';
import { errorName, logger } from './logger';

export { LEASES, type LeaseName };

export interface LeaseOptions {
  readonly dynamo: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly name: LeaseName;
  /** How long the lease may be held: the run's remaining time (it ends by then, one way or another). */
  readonly durationMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface Lease {
  readonly holder: string;
  readonly expiresAt: number;
  /** Gives the lease back (only if still this run's); the next run may start at once. */
  release(): Promise<void>;
}

/** How far apart the clocks of two hosts taking the lease may be. */
export const LEASE_SKEW_MS = 5000;

/** Takes the lease, or answers undefined when another run holds it. */
export async function acquireLease(options: LeaseOptions): Promise<Lease | undefined> {
  const now = options.now ?? Date.now;
  const id = LEASES[options.name];
  const holder = randomUUID();
  const takenAt = now();
  // Held a little past the run's end: another host's clock may run ahead of this one's.
  const expiresAt = takenAt + Math.max(0, Math.floor(options.durationMs)) + LEASE_SKEW_MS;
  try {
    await options.dynamo.send(
      new PutCommand({
        TableName: options.tableName,
        Item: { id, holder, takenAt: new Date(takenAt).toISOString(), expiresAt },
        // `holder = :holder`: the SDK's own retry of this put, after a first try whose answer was lost, is this run's.
        ConditionExpression: 'attribute_not_exists(id) OR expiresAt <= :now OR holder = :holder',
        ExpressionAttributeValues: { ':now': takenAt, ':holder': holder },
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
  return {
    holder,
    expiresAt,
    release: async () => {
      try {
        // An expired lease: PutItem only (the grant allows nothing else on this item), and only while it is ours.
        await options.dynamo.send(
          new PutCommand({
            TableName: options.tableName,
            Item: { id, holder, takenAt: new Date(takenAt).toISOString(), expiresAt: 0 },
            ConditionExpression: 'holder = :holder',
            ExpressionAttributeValues: { ':holder': holder },
          }),
        );
      } catch (err) {
        // Taken over after it expired: nothing of ours to give back.
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    },
  };
}

/**
 * Runs `work` under the lease: `{ ran: false }` without running it when another run holds the lease. The lease is
 * given back when `work` ends, whether it succeeded or threw; a failed release is logged, never thrown over the
 * work's result (the lease then simply expires).
 */
export async function withLease<T>(options: LeaseOptions, work: (lease: Lease) => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
  const lease = await acquireLease(options);
  if (!lease) return { ran: false };
  try {
    return { ran: true, result: await work(lease) };
  } finally {
    await lease.release().catch((err: unknown) => {
      logger.warn('lease not released; it expires on its own', { lease: options.name, error: errorName(err) });
    });
  }
}
