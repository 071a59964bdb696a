/**
 * The scheduled checkpointer: every few minutes (EventBridge on AWS, a timer in local mode) it signs a checkpoint
 * committing to every ledger record written since the last one. Runs one at a time (reserved concurrency 1); a
 * run that overlaps anyway loses the conditional write and stops.
 */
import { CheckpointStore } from '../adapters/checkpoints';
import { dynamo, kms, requiredEnv } from '../adapters/aws-clients';

const DEFAULT_SETTLE_SECONDS = 60;
/** Time kept back from the function's timeout to finish the checkpoint in hand. */
const RESERVE_MS = 15_000;

let store: CheckpointStore | undefined;

export async function handler(_event: unknown, context?: { getRemainingTimeInMillis?: () => number }) {
  store ??= new CheckpointStore({ tableName: requiredEnv('LEDGER_TABLE'), keyId: requiredEnv('LEDGER_KEY_ID'), dynamo, kms });
  const settle = Number(process.env.CHECKPOINT_SETTLE_SECONDS);
  const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
  const written = await store.run({
    settleSeconds: Number.isFinite(settle) && settle > 0 ? settle : DEFAULT_SETTLE_SECONDS,
    deadline: Date.now() + Math.max(0, remaining - RESERVE_MS),
  });
  const summary = written.map(({ seq, until, count, total }) => ({ seq, until, count, total }));
  if (summary.length > 0) console.log(JSON.stringify({ message: 'checkpoints written', checkpoints: summary }));
  return { checkpoints: summary };
}
