/**
 * The environment the stack gives each function, in one place: lib/ sets the variables by these names, and handlers
 * and adapters read them only through these getters. Local mode gives each function exactly its template's variables.
 */
export const FUNCTION_ENV = {
  requestsTable: 'REQUESTS_TABLE',
  ledgerTable: 'LEDGER_TABLE',
  ledgerKeyId: 'LEDGER_KEY_ID',
  reviewKeyId: 'REVIEW_KEY_ID',
  stateMachineArn: 'STATE_MACHINE_ARN',
  publicUrl: 'COUNTERSIGN_PUBLIC_URL',
  ledgerWriteWindow: 'LEDGER_WRITE_WINDOW_SECONDS',
  checkpointSettle: 'CHECKPOINT_SETTLE_SECONDS',
  repairGrace: 'REPAIR_GRACE_SECONDS',
  /** Where the scheduled functions take their one-run-at-a-time lease: the requests table. */
  leaseTable: 'LEASE_TABLE',
} as const;

export type FunctionVariable = keyof typeof FUNCTION_ENV;

/** A variable the function cannot run without; a missing one is a deployment bug, so it throws. */
export function requiredEnv(variable: FunctionVariable): string {
  const name = FUNCTION_ENV[variable];
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A whole number of seconds the stack may set; undefined when it is unset or not a non-negative number. */
export function secondsEnv(variable: FunctionVariable): number | undefined {
  const text = process.env[FUNCTION_ENV[variable]];
  const seconds = text === undefined || text === '' ? Number.NaN : Number(text);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}
