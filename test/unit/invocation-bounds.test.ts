/**
 * Waits fit the invocation: on AWS a function that outlives its timeout is killed without answering. The long-poll
 * (`GET /v1/actions/{id}?wait=N`) ends before the intake function's remaining time runs out, less the margin it
 * keeps to answer; the notifier's sends, however slow a channel, end in time to write the `notified` record. The
 * clock is vitest's (virtual): each check compares times, never waits for them.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NOTIFY_RETRY } from '../../lambdas/app/notifications';
import { decideIntake, deriveState } from '../../lambdas/core/approval';
import { configSchema } from '../../lambdas/core/config';
import type { AuditEvent, AuditRecord } from '../../lambdas/core/ledger-record';
import type { OutgoingMessage } from '../../lambdas/core/notification';
import type { Clock, Ports } from '../../lambdas/core/ports';
import type { PolicyDecidedData } from '../../lambdas/core/records';
import { retryBudgetMs } from '../../lambdas/core/retry';
import { FUNCTION_TIMEOUTS } from '../../lib/countersign';
import { type MemoryPorts, memoryPorts, stampRecords } from '../fixtures/memory-ports';

const REQUESTER = 'arn:aws:iam::123456789012:role/agent';
const APPROVERS = ['alice@example.com', 'bob@example.com'];

const world = vi.hoisted(() => ({
  ports: undefined as unknown as MemoryPorts<Clock>,
  deliver: (async () => {}) as (message: OutgoingMessage) => Promise<void>,
}));

const stamp = (chain: readonly AuditRecord[], events: readonly AuditEvent[]) => stampRecords(chain, events, 'act_bounds');

// The handlers as deployed, with every port in memory but the clock, which is the system's (vitest's virtual one).
vi.mock('../../lambdas/adapters/aws-ports', async (original) => {
  const real = await original<typeof import('../../lambdas/adapters/aws-ports')>();
  const ports = new Proxy({}, { get: (_, key) => world.ports[key as keyof Ports] });
  return { ...real, awsPorts: ports, awsServicePorts: ports };
});

/** Fresh ports holding one pending request, `act_bounds`, its sends going to `world.deliver`. */
async function withPendingRequest(policy: Partial<PolicyDecidedData> = {}): Promise<void> {
  const { systemClock } = await import('../../lambdas/adapters/aws-ports');
  const config = configSchema.parse(JSON.parse(process.env.COUNTERSIGN_CONFIG_JSON!));
  world.ports = memoryPorts(config, { clock: systemClock });
  Object.assign(world.ports.outbox, { deliver: (message: OutgoingMessage) => world.deliver(message) });
  const chain = pending(policy);
  world.ports.ledger.chains.set('act_bounds', chain);
  await world.ports.requests.put({ id: 'act_bounds', requester: REQUESTER, status: 'pending', createdAt: chain[0]!.at });
}
const chainNow = () => world.ports.ledger.chains.get('act_bounds')!;

function pending(policy: Partial<PolicyDecidedData> = {}): AuditRecord[] {
  const decided: PolicyDecidedData = {
    rule: 'bounds',
    effect: 'require_approval',
    requiredApprovals: 1,
    approvers: APPROVERS,
    timeoutSeconds: 3600,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    channels: ['email', 'slack'],
    ...policy,
  };
  const intake = { requester: REQUESTER, request: { action: 'data.export' }, bodyCommitment: 'b', parametersCommitment: 'p', masked: [], policy: decided };
  let chain: AuditRecord[] = [];
  for (let i = 0; i < 5; i++) {
    const [event] = decideIntake(chain, intake);
    if (!event) break;
    chain = stamp(chain, [event]);
  }
  return chain;
}

/** Runs `work` on the virtual clock, timer by timer, and answers what it resolved to and how long it took. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  let done = false;
  const running = work().finally(() => (done = true));
  while (!done) {
    // Let the work run as far as it can without the clock moving (the mocks answer in microtasks).
    for (let turn = 0; turn < 200 && !done && vi.getTimerCount() === 0; turn++) await Promise.resolve();
    if (done) break;
    // Hung for good (nothing left that could end it), or past any function's timeout: it never answers in time.
    if (vi.getTimerCount() === 0 || Date.now() - start > 15 * 60_000) throw new Error(`never answered (after ${Date.now() - start} ms)`);
    await vi.advanceTimersToNextTimerAsync();
  }
  return { value: await running, elapsedMs: Date.now() - start };
}

const saved = { ...process.env };
beforeAll(() => {
  process.env.COUNTERSIGN_CONFIG_JSON = JSON.stringify({
    version: 1,
    groups: { owners: { members: APPROVERS.map((id, i) => ({ id, email: id, slackUserId: `U0APPROVER${i}` })) } },
    rules: [],
    default: { effect: 'deny' },
    auditors: [],
    channels: { email: { from: 'countersign@example.com' }, slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET' } },
    auth: {},
    mask: [],
  });
  process.env.REVIEW_KEY_ID = 'review-key';
  process.env.COUNTERSIGN_PUBLIC_URL = 'https://api.example.com';
});
afterAll(() => {
  process.env = saved;
});
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the long-poll', () => {
  const read = (wait: number) => ({
    routeKey: 'GET /v1/actions/{id}',
    rawPath: '/v1/actions/act_bounds',
    pathParameters: { id: 'act_bounds' },
    queryStringParameters: { wait: String(wait) },
    headers: {},
    requestContext: { authorizer: { iam: { userArn: REQUESTER, accountId: '123456789012', userId: 'AROAEXAMPLE', callerId: 'AROAEXAMPLE' } } },
  });

  it('waits as asked when the invocation has the time, and ends its margin before the invocation would', async () => {
    const { handler, MAX_WAIT_SECONDS, WAIT_MARGIN_MS } = await import('../../lambdas/intake/handler');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: MAX_WAIT_SECONDS }),
        fc.integer({ min: 0, max: FUNCTION_TIMEOUTS.intake.toMilliseconds() }),
        async (wait, remainingMs) => {
          await withPendingRequest();
          const end = Date.now() + remainingMs;
          const context = { getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
          const { value, elapsedMs } = await timed(() => handler(read(wait) as never, context));
          expect(value.statusCode).toBe(200);
          expect(JSON.parse(String(value.body)).status).toBe('pending');
          expect(elapsedMs).toBe(Math.min(wait * 1000, Math.max(0, remainingMs - WAIT_MARGIN_MS)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('holds a whole ?wait=20 in a fresh invocation of the intake function', async () => {
    const { handler, MAX_WAIT_SECONDS } = await import('../../lambdas/intake/handler');
    await withPendingRequest();
    const end = Date.now() + FUNCTION_TIMEOUTS.intake.toMilliseconds();
    const { elapsedMs } = await timed(() => handler(read(MAX_WAIT_SECONDS) as never, { getRemainingTimeInMillis: () => end - Date.now() }));
    expect(elapsedMs).toBe(MAX_WAIT_SECONDS * 1000);
  });

  it('ends before API Gateway gives up, counted from when the request arrived, whatever a cold start took', async () => {
    const { handler, MAX_WAIT_SECONDS, WAIT_MARGIN_MS } = await import('../../lambdas/intake/handler');
    const { API_INTEGRATION_TIMEOUT_MS } = await import('../../lambdas/adapters/http');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 10_000 }), async (coldStartMs) => {
        await withPendingRequest();
        const arrived = Date.now() - coldStartMs;
        const end = Date.now() + FUNCTION_TIMEOUTS.intake.toMilliseconds();
        const event = { ...read(MAX_WAIT_SECONDS), requestContext: { ...read(MAX_WAIT_SECONDS).requestContext, timeEpoch: arrived } };
        const { elapsedMs } = await timed(() => handler(event as never, { getRemainingTimeInMillis: () => end - Date.now() }));
        // Answered at least the margin before the gateway's timeout, from arrival.
        expect(coldStartMs + elapsedMs).toBeLessThanOrEqual(API_INTEGRATION_TIMEOUT_MS - WAIT_MARGIN_MS);
        expect(elapsedMs).toBe(Math.min(MAX_WAIT_SECONDS * 1000, API_INTEGRATION_TIMEOUT_MS - WAIT_MARGIN_MS - coldStartMs));
      }),
      { numRuns: 30 },
    );
  });
});

describe('the notifier', () => {
  it('records what it sent before its function would time out, however slowly a channel answers', async () => {
    const { handler, NOTIFIED_RECORD_RESERVE_MS } = await import('../../lambdas/notifier/handler');
    for (const slack of ['hangs', 'fails slowly'] as const) {
      await withPendingRequest();
      const tries: string[] = [];
      world.deliver = (message) => {
        tries.push(message.channel);
        if (message.channel === 'email') return Promise.resolve();
        // Slack never answers (and ignores any signal), or answers a 503 after a long while.
        return slack === 'hangs' ? new Promise(() => {}) : new Promise((_, reject) => setTimeout(() => reject(new Error('http_503')), 60_000));
      };
      const timeoutMs = FUNCTION_TIMEOUTS.notifier.toMilliseconds();
      const end = Date.now() + timeoutMs;
      const { value, elapsedMs } = await timed(() =>
        handler({ requestId: 'act_bounds', taskToken: 't'.repeat(80) }, { getRemainingTimeInMillis: () => end - Date.now() }),
      );
      expect(value).toEqual({ notified: 2 });
      const notified = deriveState(chainNow())!.notified;
      expect(notified).toBeDefined();
      const record = chainNow().find((r) => r.type === 'notified')!;
      expect((record.data as { channels: { slack: { failed: unknown[] } } }).channels.slack.failed).toHaveLength(2);
      // Every try was made, each cut at its own timeout, and the sends left the record its reserve.
      expect(tries.filter((c) => c === 'slack')).toHaveLength(2 * NOTIFY_RETRY.attempts);
      expect(elapsedMs).toBeLessThanOrEqual(timeoutMs - NOTIFIED_RECORD_RESERVE_MS);
      expect(elapsedMs).toBeLessThanOrEqual(retryBudgetMs(NOTIFY_RETRY));
    }
  });

  it('stops retrying at the invocation deadline when it started late, and still records', async () => {
    const { handler, NOTIFIED_RECORD_RESERVE_MS } = await import('../../lambdas/notifier/handler');
    await withPendingRequest();
    world.deliver = (message) => (message.channel === 'email' ? Promise.resolve() : new Promise(() => {}));
    const remainingMs = NOTIFIED_RECORD_RESERVE_MS + 3000;
    const end = Date.now() + remainingMs;
    const { value, elapsedMs } = await timed(() =>
      handler({ requestId: 'act_bounds', taskToken: 't'.repeat(80) }, { getRemainingTimeInMillis: () => end - Date.now() }),
    );
    expect(value).toEqual({ notified: 2 });
    expect(chainNow().some((r) => r.type === 'notified')).toBe(true);
    expect(elapsedMs).toBeLessThanOrEqual(remainingMs - NOTIFIED_RECORD_RESERVE_MS);
  });
});
