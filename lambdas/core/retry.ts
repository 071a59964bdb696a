/**
 * Retries with exponential backoff and full jitter, honouring a server's Retry-After when the error carries one; each
 * attempt may be bounded in time, and the whole by a deadline, so a caller inside a Lambda function with a timeout
 * always gets its answer (success or the last error) with time left to record it.
 */
export interface RetryOptions {
  /** Tries in all, the first included. @default 3 */
  readonly attempts?: number;
  /** @default 250 ms */
  readonly baseDelayMs?: number;
  /** Longest wait between tries, a server's Retry-After included. @default 5000 ms */
  readonly maxDelayMs?: number;
  /** Whether an error is worth another try. @default every error */
  readonly retryable?: (err: unknown) => boolean;
  /**
   * Longest one attempt may take: it is then abandoned (its signal aborted) and fails with a TimeoutError, which is
   * retried like any other failure. @default unbounded
   */
  readonly attemptTimeoutMs?: number;
  /**
   * When everything must be over (epoch ms), e.g. the invocation's end less the time to record the result: an
   * attempt gets at most the time left, and no retry waits or starts past it. @default none
   */
  readonly deadline?: number;
}

/** An error that says how long the server asked us to wait (Slack and Teams 429s, SES throttling). */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

/** An attempt (or the work under a signal) ran out of its time. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/**
 * The longest `withRetries` can take with these options, not counting a `deadline` (which only shortens it): every
 * attempt running to its timeout, with the longest wait between each.
 */
export function retryBudgetMs(options: RetryOptions & { readonly attemptTimeoutMs: number }): number {
  const attempts = options.attempts ?? 3;
  return attempts * options.attemptTimeoutMs + (attempts - 1) * (options.maxDelayMs ?? 5000);
}

/**
 * `work`, or a rejection as soon as `signal` aborts, whichever comes first: the wait ends on time even if `work`
 * ignores the signal. The rejection is the signal's reason when it is an Error, else a TimeoutError.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  const reasonOf = () => (signal.reason instanceof Error ? signal.reason : new TimeoutError('the operation ran out of time'));
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(reasonOf());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reasonOf());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err)),
    );
  });
}

const NEVER = new AbortController().signal;

export async function withRetries<T>(fn: (attempt: number, signal: AbortSignal) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    const left = options.deadline === undefined ? Infinity : options.deadline - Date.now();
    const limit = Math.min(options.attemptTimeoutMs ?? Infinity, left);
    try {
      if (limit <= 0) throw new TimeoutError('no time left for another attempt');
      if (limit === Infinity) return await fn(attempt, NEVER);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new TimeoutError(`attempt ${attempt} took longer than ${Math.round(limit)} ms`)), limit);
      try {
        return await untilAborted(fn(attempt, controller.signal), controller.signal);
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      // Adapters mark errors that cannot heal (a bad channel id, a refused URL) with `retryable: false`.
      const hint = err as { retryable?: boolean; retryAfterMs?: number; retryAfterSeconds?: number };
      if (attempt >= attempts || hint.retryable === false || (options.retryable && !options.retryable(err))) throw err;
      const backoff = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
      const asked = hint.retryAfterMs ?? (hint.retryAfterSeconds !== undefined ? hint.retryAfterSeconds * 1000 : 0);
      const delay = Math.min(max, Math.max(backoff, asked));
      // A retry that could not even start before the deadline is not worth the wait.
      if (options.deadline !== undefined && Date.now() + delay >= options.deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
