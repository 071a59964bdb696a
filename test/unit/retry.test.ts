import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryableError, retryBudgetMs, TimeoutError, untilAborted, withRetries } from '../../lambdas/core/retry';

describe('withRetries', () => {
  it('tries again until it succeeds, up to the limit', async () => {
    let calls = 0;
    await expect(withRetries(async () => (++calls < 3 ? Promise.reject(new Error('flaky')) : 'ok'), { attempts: 3, baseDelayMs: 1 })).resolves.toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(withRetries(async () => Promise.reject(new Error(`fail ${++calls}`)), { attempts: 2, baseDelayMs: 1 })).rejects.toThrow('fail 2');
  });

  it('stops at once on an error marked not retryable', async () => {
    let calls = 0;
    const fatal = Object.assign(new Error('channel_not_found'), { retryable: false });
    await expect(withRetries(async () => (calls++, Promise.reject(fatal)), { attempts: 5, baseDelayMs: 1 })).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('waits as long as the server asked (Retry-After)', async () => {
    const times: number[] = [];
    await withRetries(
      async () => {
        times.push(Date.now());
        if (times.length === 1) throw new RetryableError('429', 300);
        if (times.length === 2) throw Object.assign(new Error('slack 429'), { retryAfterSeconds: 0.2 });
      },
      { attempts: 3, baseDelayMs: 1 },
    );
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(290);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(190);
  });
});

describe('withRetries in time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Settles `promise` on the virtual clock; answers its outcome and the virtual time it took. */
  async function run<T>(promise: Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; ms: number }> {
    const start = Date.now();
    const settled = Promise.allSettled([promise]);
    let done = false;
    void settled.then(() => (done = true));
    for (let i = 0; i < 1000 && !done; i++) await vi.advanceTimersToNextTimerAsync();
    return { outcome: (await settled)[0]!, ms: Date.now() - start };
  }

  it('abandons an attempt that outlives its timeout, aborting its signal, and retries', async () => {
    vi.useFakeTimers();
    const signals: AbortSignal[] = [];
    const { outcome, ms } = await run(
      withRetries((_attempt, signal) => (signals.push(signal), new Promise<never>(() => {})), {
        attempts: 3,
        attemptTimeoutMs: 1000,
        baseDelayMs: 100,
        maxDelayMs: 200,
      }),
    );
    expect(outcome.status).toBe('rejected');
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
    expect(signals).toHaveLength(3);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(3000);
    expect(ms).toBeLessThanOrEqual(retryBudgetMs({ attempts: 3, attemptTimeoutMs: 1000, maxDelayMs: 200 }));
  });

  it('never runs past its deadline: the last attempt gets the time left, and no retry starts after it', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const deadline = Date.now() + 2500;
    const { outcome, ms } = await run(
      withRetries(() => (calls++, new Promise<never>(() => {})), { attempts: 10, attemptTimeoutMs: 1000, baseDelayMs: 10, maxDelayMs: 10, deadline }),
    );
    expect(outcome.status).toBe('rejected');
    expect(ms).toBeLessThanOrEqual(2500);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThan(10);
  });

  it('does not wait for a retry (however long a server asks) that could not start before the deadline', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const deadline = Date.now() + 1000;
    const { outcome, ms } = await run(
      withRetries(async () => (calls++, Promise.reject(new RetryableError('429', 5000))), { attempts: 3, maxDelayMs: 5000, deadline }),
    );
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RetryableError);
    expect(calls).toBe(1);
    expect(ms).toBe(0);
  });

  it('budgets every attempt at its timeout with the longest wait between each', () => {
    expect(retryBudgetMs({ attempts: 3, attemptTimeoutMs: 5000, maxDelayMs: 2000 })).toBe(19_000);
    expect(retryBudgetMs({ attempts: 1, attemptTimeoutMs: 5000 })).toBe(5000);
  });

  it('ends a wait when its signal aborts, even if the work ignores it', async () => {
    const controller = new AbortController();
    const waiting = untilAborted(new Promise<never>(() => {}), controller.signal);
    controller.abort(new TimeoutError('late'));
    await expect(waiting).rejects.toThrow('late');
    await expect(untilAborted(Promise.resolve('ok'), new AbortController().signal)).resolves.toBe('ok');
  });
});
