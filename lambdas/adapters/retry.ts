/** Retries with exponential backoff and full jitter, honouring a server's Retry-After when the error carries one. */
export interface RetryOptions {
  /** Tries in all, the first included. @default 3 */
  readonly attempts?: number;
  /** @default 250 ms */
  readonly baseDelayMs?: number;
  /** @default 5000 ms */
  readonly maxDelayMs?: number;
  /** Whether an error is worth another try. @default every error */
  readonly retryable?: (err: unknown) => boolean;
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

export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      // Adapters mark errors that cannot heal (a bad channel id, a refused URL) with `retryable: false`.
      const hint = err as { retryable?: boolean; retryAfterMs?: number; retryAfterSeconds?: number };
      if (attempt >= attempts || hint.retryable === false || (options.retryable && !options.retryable(err))) throw err;
      const backoff = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
      const asked = hint.retryAfterMs ?? (hint.retryAfterSeconds !== undefined ? hint.retryAfterSeconds * 1000 : 0);
      await new Promise((r) => setTimeout(r, Math.min(max, Math.max(backoff, asked))));
    }
  }
}
