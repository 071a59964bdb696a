import { describe, expect, it } from 'vitest';
import { RetryableError, withRetries } from '../../lambdas/adapters/retry';

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
