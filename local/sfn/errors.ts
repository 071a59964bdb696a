/** Runtime errors raised inside an execution, and how Retry/Catch `ErrorEquals` match them (ASL "Error names"). */

/** An error a state reports: `error` is the ASL error name (e.g. `States.Timeout`, or a Lambda's errorType). */
export class StatesError extends Error {
  constructor(
    readonly error: string,
    readonly causeText?: string,
  ) {
    super(causeText ? `${error}: ${causeText}` : error);
    this.name = 'StatesError';
  }
}

/** Errors no retrier or catcher can handle, not even `States.ALL` (AWS: "States.ALL ... cannot catch States.DataLimitExceeded or States.Runtime"). */
const TERMINAL = new Set(['States.Runtime', 'States.DataLimitExceeded']);
const TIMEOUTS = new Set(['States.Timeout', 'States.HeartbeatTimeout']);

/** Whether a retrier's or catcher's `ErrorEquals` covers `error`. */
export function errorMatches(errorEquals: readonly string[], error: string): boolean {
  if (TERMINAL.has(error)) return false;
  return errorEquals.some((name) => {
    if (name === error || name === 'States.ALL') return true;
    // "States.TaskFailed ... matches any known error name except for States.Timeout" (and its heartbeat form).
    if (name === 'States.TaskFailed') return !TIMEOUTS.has(error);
    // The ASL defines States.Timeout as "ran longer than TimeoutSeconds, or failed to heartbeat for longer than
    // HeartbeatSeconds", so it also covers the more specific States.HeartbeatTimeout.
    if (name === 'States.Timeout') return error === 'States.HeartbeatTimeout';
    return false;
  });
}

/**
 * The error name and cause a thrown Lambda error turns into, as the Lambda integration reports them: a function error
 * by its errorType (`Sandbox.Timedout` for a timeout) with its payload as the cause; an invoker that already names the
 * failure (a throttle: `Lambda.TooManyRequestsException`) throws a StatesError, taken as it is.
 */
export function lambdaError(err: unknown): StatesError {
  if (err instanceof StatesError) return err;
  const errorType = err instanceof Error && err.name ? err.name : 'Error';
  const errorMessage = err instanceof Error ? err.message : String(err);
  return new StatesError(errorType, JSON.stringify({ errorType, errorMessage }));
}
