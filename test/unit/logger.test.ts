/**
 * The functions' one logger (lambdas/adapters/logger.ts): JSON lines with the level, the Lambda context and the
 * Countersign request as correlation id; nothing of one invocation's keys in the next; the level and debug sampling
 * from the stack's variables.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const CONTEXT = {
  functionName: 'CountersignDecision',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:CountersignDecision',
  memoryLimitInMB: '512',
  awsRequestId: '6f1c2a4e-0000-4000-8000-000000000001',
};

/** A fresh logger module under these variables, and the JSON lines it writes while `run` runs. */
async function linesOf(env: Record<string, string>, run: (logger: typeof import('../../lambdas/adapters/logger')) => Promise<void> | void) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const module = await import('../../lambdas/adapters/logger');
  const written: string[] = [];
  const capture = (chunk: unknown) => (written.push(String(chunk)), true);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await run(module);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return written
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

afterEach(() => vi.unstubAllEnvs());

describe('the logger', () => {
  it("writes JSON with the level, service, function, AWS request id and the request's correlation id", async () => {
    const lines = await linesOf({}, ({ logger, startInvocation, endInvocation }) => {
      startInvocation(CONTEXT, 'act_logs1');
      logger.info('vote recorded', { via: 'slack' });
      logger.error('personal review link not sent', { error: 'TimeoutError' });
      endInvocation();
    });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'vote recorded',
        service: 'countersign',
        function_name: 'CountersignDecision',
        function_request_id: CONTEXT.awsRequestId,
        correlation_id: 'act_logs1',
        via: 'slack',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      }),
      expect.objectContaining({ level: 'ERROR', message: 'personal review link not sent', correlation_id: 'act_logs1' }),
    ]);
  });

  it('keeps no key of one invocation in the next, takes only a well-formed request id, and takes one learnt later', async () => {
    const lines = await linesOf({}, async ({ logger, logged, correlate }) => {
      const handler = logged(
        async (event: { requestId?: string; later?: string; fail?: boolean }) => {
          logger.appendKeys({ scratch: 'x' });
          if (event.later) correlate(event.later);
          logger.info('line');
          if (event.fail) throw new Error('boom');
          return 'ok';
        },
        (event) => event.requestId,
      );
      await expect(handler({ requestId: 'act_first', fail: true }, { ...CONTEXT, awsRequestId: 'r1' })).rejects.toThrow('boom');
      await handler({ requestId: 'not an id' }, { ...CONTEXT, awsRequestId: 'r2' });
      await handler({ later: 'act_later' }, { ...CONTEXT, awsRequestId: 'r3' });
      await handler({}, undefined);
    });
    expect(lines.map((l) => [l.function_request_id, l.correlation_id])).toEqual([
      ['r1', 'act_first'],
      ['r2', undefined],
      ['r3', 'act_later'],
      // A call without a context (a test's) shows no earlier invocation's id.
      [undefined, undefined],
    ]);
  });

  it("takes a route's path id as correlation id only where API Gateway authenticated the caller", async () => {
    const lines = await linesOf({}, async ({ logger }) => {
      // After the logger module was loaded afresh: the router must use the same instance.
      const { routeHandler } = await import('../../lambdas/adapters/http');
      const answer = async () => {
        logger.info('handled');
        return { statusCode: 200, body: '' };
      };
      const handler = routeHandler(
        { 'GET /v1/actions/{id}': answer, 'GET /v1/actions/{id}/review': answer },
        { selfAuthenticated: ['GET /v1/actions/{id}/review'] },
      );
      const event = (routeKey: string, awsRequestId: string) =>
        handler(
          { routeKey, rawPath: '/', headers: {}, pathParameters: { id: 'act_someone' }, requestContext: { http: { method: 'GET' } } } as never,
          { ...CONTEXT, awsRequestId, getRemainingTimeInMillis: () => 10_000 } as never,
        );
      await event('GET /v1/actions/{id}', 'iam-route');
      await event('GET /v1/actions/{id}/review', 'open-route');
    });
    const handled = lines.filter((l) => l.message === 'handled');
    expect(handled.map((l) => [l.function_request_id, l.correlation_id])).toEqual([
      ['iam-route', 'act_someone'],
      ['open-route', undefined],
    ]);
  });

  it('logs INFO and above by default, the level POWERTOOLS_LOG_LEVEL says, and every line of a sampled invocation', async () => {
    const levels = async (env: Record<string, string>) =>
      (
        await linesOf(env, ({ logger, startInvocation }) => {
          startInvocation(CONTEXT, 'act_levels');
          logger.debug('detail');
          logger.info('step');
          logger.warn('odd');
        })
      )
        .filter((l) => l.function_request_id)
        .map((l) => l.level);
    expect(await levels({})).toEqual(['INFO', 'WARN']);
    expect(await levels({ POWERTOOLS_LOG_LEVEL: 'WARN' })).toEqual(['WARN']);
    expect(await levels({ POWERTOOLS_LOG_LEVEL: 'DEBUG' })).toEqual(['DEBUG', 'INFO', 'WARN']);
    expect(await levels({ POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_LOGGER_SAMPLE_RATE: '1' })).toEqual(['DEBUG', 'INFO', 'WARN']);
  });

  it('names an error by its class and code, never its message', async () => {
    const { errorName } = await import('../../lambdas/adapters/logger');
    expect(errorName(Object.assign(new Error('https://hooks.slack.com/actions/T0/secret'), { code: 'ECONNRESET' }))).toBe('Error ECONNRESET');
    expect(errorName(new TypeError('token=abc'))).toBe('TypeError');
    expect(errorName('xoxb-secret')).toBe('string');
  });
});
