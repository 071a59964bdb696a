/**
 * Conformance of the local Step Functions endpoint, through the real SDK v3 SFNClient over HTTP.
 * Tests run concurrently against one endpoint (each uses its own state machine and execution names);
 * the restart tests use their own data directories and instances.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LambdaInvoker, LocalStepFunctions } from '../../local/sfn';

const ROLE = 'arn:aws:iam::000000000000:role/local';
const fnArn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const INVOKE = 'arn:aws:states:::lambda:invoke';
const CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

interface Call {
  readonly fn: string;
  readonly payload: Record<string, unknown>;
  readonly at: number;
}
const calls: Call[] = [];
const flakyCounts = new Map<string, number>();

class FlakyError extends Error {
  override name = 'Flaky';
}

/** The test "Lambda functions", keyed by function name. */
const functions: Record<string, (payload: Record<string, unknown>) => unknown> = {
  notify: () => ({ delivered: true }),
  echo: (p) => p,
  boom: () => {
    throw new TypeError('bad input');
  },
  hang: () => new Promise(() => {}),
  flaky: (p) => {
    const key = String(p.key);
    const n = (flakyCounts.get(key) ?? 0) + 1;
    flakyCounts.set(key, n);
    if (n < 3) throw new FlakyError(`attempt ${n} failed`);
    return { attempts: n };
  },
};

const invokeLambda: LambdaInvoker = async (functionArn, payload) => {
  const name = functionArn.split(':').pop() as string;
  calls.push({ fn: name, payload: payload as Record<string, unknown>, at: Date.now() });
  const f = functions[name];
  if (!f) throw Object.assign(new Error(`no function ${name}`), { name: 'ResourceNotFoundException' });
  return f(payload as Record<string, unknown>);
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The calls made for one execution (payloads carry `exec` = $$.Execution.Name). */
function callsFor(exec: string, fn?: string): Call[] {
  return calls.filter((c) => c.payload.exec === exec && (!fn || c.fn === fn));
}

async function nextCall(exec: string, count = 1, timeoutMs = 5000): Promise<Call> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const found = callsFor(exec);
    if (found.length >= count) return found[count - 1] as Call;
    await sleep(10);
  }
  throw new Error(`no call #${count} for execution ${exec}`);
}

function client(endpoint: string): SFNClient {
  return new SFNClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

async function errorOf(p: Promise<unknown>): Promise<Error & { message: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

/** A callback task whose Payload carries the token and execution name, as the project's Notify state does. */
function callbackTask(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: CALLBACK,
    Parameters: { FunctionName: fnArn('notify'), Payload: { 'token.$': '$$.Task.Token', 'exec.$': '$$.Execution.Name', 'input.$': '$' } },
    ...extra,
  };
}

let dataDir: string;
let sfnLocal: LocalStepFunctions;
let sfn: SFNClient;
const tempDirs: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'countersign-sfn-'));
  tempDirs.push(dataDir);
  sfnLocal = new LocalStepFunctions({ dataDir, invokeLambda });
  sfn = client(await sfnLocal.listen());
});

afterAll(async () => {
  sfn.destroy();
  await sfnLocal.close();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

let seq = 0;
async function deploy(definition: unknown, on: SFNClient = sfn): Promise<string> {
  const out = await on.send(new CreateStateMachineCommand({ name: `sm-${++seq}-${Date.now()}`, definition: JSON.stringify(definition), roleArn: ROLE }));
  return out.stateMachineArn as string;
}

async function start(stateMachineArn: string, input: unknown, name = `ex-${++seq}`, on: SFNClient = sfn): Promise<{ arn: string; name: string }> {
  const out = await on.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  return { arn: out.executionArn as string, name };
}

async function finished(arn: string, instance: LocalStepFunctions = sfnLocal, on: SFNClient = sfn) {
  await instance.waitForExecution(arn, 10_000);
  const d = await on.send(new DescribeExecutionCommand({ executionArn: arn }));
  return { ...d, parsed: d.output ? (JSON.parse(d.output) as Record<string, any>) : undefined };
}

describe.concurrent('local Step Functions', () => {
  it('keeps a waitForTaskToken task RUNNING until SendTaskSuccess, whose output flows on', async () => {
    const sm = await deploy({
      StartAt: 'Notify',
      States: {
        Notify: callbackTask({ ResultPath: '$.decision', Next: 'After' }),
        After: { Type: 'Pass', Parameters: { 'outcome.$': '$.decision.outcome', 'request.$': '$.request' }, End: true },
      },
    });
    const ex = await start(sm, { request: 'r-1' });
    const call = await nextCall(ex.name);
    expect(call.payload.input).toEqual({ request: 'r-1' });
    expect(typeof call.payload.token).toBe('string');
    await sleep(150);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: ex.arn }))).status).toBe('RUNNING');

    await sfn.send(new SendTaskSuccessCommand({ taskToken: call.payload.token as string, output: JSON.stringify({ outcome: 'approved' }) }));
    const done = await finished(ex.arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.parsed).toEqual({ outcome: 'approved', request: 'r-1' });
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: ex.arn }));
    const types = history.events?.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskSucceeded', 'TaskStateExited', 'ExecutionSucceeded']),
    );
    expect(history.events?.[0]?.timestamp).toBeInstanceOf(Date);
  });

  it('routes SendTaskFailure to a Catch with its error and cause', async () => {
    const sm = await deploy({
      StartAt: 'Notify',
      States: {
        Notify: callbackTask({ Catch: [{ ErrorEquals: ['Rejected'], ResultPath: '$.error', Next: 'Handled' }], End: true }),
        Handled: { Type: 'Pass', End: true },
      },
    });
    const ex = await start(sm, { request: 'r-2' });
    const call = await nextCall(ex.name);
    await sfn.send(new SendTaskFailureCommand({ taskToken: call.payload.token as string, error: 'Rejected', cause: 'policy said no' }));
    const done = await finished(ex.arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.parsed).toEqual({ request: 'r-2', error: { Error: 'Rejected', Cause: 'policy said no' } });
  });

  it('raises States.Timeout from TimeoutSeconds and TimeoutSecondsPath, caught by a Catch; execution TimeoutSeconds times out', async () => {
    const timeoutCatch = { Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expired' }], Next: 'Done' };
    const fixed = await deploy({
      StartAt: 'Notify',
      States: { Notify: callbackTask({ TimeoutSeconds: 1, ...timeoutCatch }), Expired: { Type: 'Pass', End: true }, Done: { Type: 'Succeed' } },
    });
    const fromInput = await deploy({
      StartAt: 'Notify',
      States: { Notify: callbackTask({ TimeoutSecondsPath: '$.timeout', ...timeoutCatch }), Expired: { Type: 'Pass', End: true }, Done: { Type: 'Succeed' } },
    });
    // A request/response Lambda that never returns times out the same way, without blocking anything else.
    const hanging = await deploy({
      StartAt: 'Hang',
      States: {
        Hang: { Type: 'Task', Resource: INVOKE, Parameters: { FunctionName: fnArn('hang'), 'Payload.$': '$' }, TimeoutSeconds: 1, ...timeoutCatch },
        Expired: { Type: 'Pass', End: true },
        Done: { Type: 'Succeed' },
      },
    });
    const whole = await deploy({ StartAt: 'Nap', TimeoutSeconds: 1, States: { Nap: { Type: 'Wait', Seconds: 30, End: true } } });

    const t0 = Date.now();
    const [a, b, c, d] = await Promise.all([start(fixed, { n: 1 }), start(fromInput, { timeout: 1 }), start(hanging, {}), start(whole, {})]);
    const [ra, rb, rc, rd] = await Promise.all([finished(a.arn), finished(b.arn), finished(c.arn), finished(d.arn)]);
    for (const r of [ra, rb, rc]) {
      expect(r.status).toBe('SUCCEEDED');
      expect(r.parsed?.error?.Error).toBe('States.Timeout');
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(rd.status).toBe('TIMED_OUT');
    expect(rd.error).toBe('States.Timeout');
  });

  it('honours HeartbeatSeconds, and SendTaskHeartbeat extends it', async () => {
    const sm = await deploy({
      StartAt: 'Notify',
      States: {
        Notify: callbackTask({
          HeartbeatSeconds: 1,
          TimeoutSeconds: 10,
          ResultPath: '$.result',
          Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expired' }],
          End: true,
        }),
        Expired: { Type: 'Pass', End: true },
      },
    });
    const silent = await start(sm, { who: 'silent' });
    const beating = await start(sm, { who: 'beating' });
    const t0 = Date.now();
    const token = (await nextCall(beating.name)).payload.token as string;
    for (let k = 0; k < 4; k++) {
      await sleep(450);
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    expect(Date.now() - t0).toBeGreaterThan(1500); // well past the first heartbeat window
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: beating.arn }))).status).toBe('RUNNING');
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"ok":true}' }));

    const [s, b] = await Promise.all([finished(silent.arn), finished(beating.arn)]);
    expect(s.status).toBe('SUCCEEDED');
    expect(s.parsed?.error?.Error).toBe('States.HeartbeatTimeout');
    expect(b.status).toBe('SUCCEEDED');
    expect(b.parsed).toEqual({ who: 'beating', result: { ok: true } });
  });

  it('retries with growing backoff until the function succeeds', async () => {
    const sm = await deploy({
      StartAt: 'Flaky',
      States: {
        Flaky: {
          Type: 'Task',
          Resource: fnArn('flaky'),
          Parameters: { 'key.$': '$$.Execution.Name', 'exec.$': '$$.Execution.Name', 'retry.$': '$$.State.RetryCount' },
          Retry: [
            { ErrorEquals: ['Other'], MaxAttempts: 0 },
            { ErrorEquals: ['Flaky'], IntervalSeconds: 1, BackoffRate: 1.6, MaxAttempts: 3 },
          ],
          End: true,
        },
      },
    });
    const ex = await start(sm, {});
    const done = await finished(ex.arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.parsed).toEqual({ attempts: 3 });
    const attempts = callsFor(ex.name, 'flaky');
    expect(attempts.map((c) => c.payload.retry)).toEqual([0, 1, 2]);
    const [a0, a1, a2] = attempts.map((c) => c.at) as [number, number, number];
    expect(a1 - a0).toBeGreaterThanOrEqual(950);
    expect(a1 - a0).toBeLessThan(1400);
    expect(a2 - a1).toBeGreaterThanOrEqual(1550);
    expect(a2 - a1 - (a1 - a0)).toBeGreaterThan(300);
  });

  it('answers TaskTimedOut for a used token, InvalidToken for an unknown one, InvalidOutput for bad output', async () => {
    const sm = await deploy({ StartAt: 'Notify', States: { Notify: callbackTask({ End: true }) } });
    const ex = await start(sm, {});
    const token = (await nextCall(ex.name)).payload.token as string;
    expect((await errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{not json' })))).name).toBe('InvalidOutput');
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"first"' }));
    expect((await errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"second"' })))).name).toBe('TaskTimedOut');
    expect((await errorOf(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token })))).name).toBe('TaskTimedOut');
    expect((await errorOf(sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'X' })))).name).toBe('TaskTimedOut');
    const unknown = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: unknown, output: '{}' })))).name).toBe('InvalidToken');
    expect((await errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: 'garbage', output: '{}' })))).name).toBe('InvalidToken');
    expect((await finished(ex.arn)).output).toBe('"first"');

    // A stopped execution's token is no longer waiting either.
    const stopped = await start(sm, {});
    const stoppedToken = (await nextCall(stopped.name)).payload.token as string;
    await sfn.send(new StopExecutionCommand({ executionArn: stopped.arn, error: 'Cancelled', cause: 'test' }));
    expect((await finished(stopped.arn)).status).toBe('ABORTED');
    expect((await errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: stoppedToken, output: '{}' })))).name).toBe('TaskTimedOut');
  });

  it('treats a duplicate execution name as AWS does', async () => {
    const sm = await deploy({ StartAt: 'Notify', States: { Notify: callbackTask({ End: true }) } });
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: sm, name: 'dup', input: '{"a":1}' }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: sm, name: 'dup', input: '{"a":1}' }));
    expect(again.executionArn).toBe(first.executionArn);
    expect(first.executionArn).toMatch(/^arn:aws:states:us-east-1:000000000000:execution:sm-[^:]+:dup$/);
    expect((await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: sm, name: 'dup', input: '{"a":2}' })))).name).toBe('ExecutionAlreadyExists');
    expect(callsFor('dup')).toHaveLength(1);

    const token = (await nextCall('dup')).payload.token as string;
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    expect((await finished(first.executionArn as string)).status).toBe('SUCCEEDED');
    expect((await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: sm, name: 'dup', input: '{"a":1}' })))).name).toBe('ExecutionAlreadyExists');

    expect((await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: sm, name: 'bad name', input: '{}' })))).name).toBe('InvalidName');
    expect((await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: sm, input: '{oops' })))).name).toBe('InvalidExecutionInput');
    expect((await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: `${sm}-missing`, input: '{}' })))).name).toBe('StateMachineDoesNotExist');
    expect((await errorOf(sfn.send(new DescribeExecutionCommand({ executionArn: `${first.executionArn}-missing` })))).name).toBe('ExecutionDoesNotExist');
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: sm }));
    expect(listed.executions?.map((e) => e.name)).toEqual(['dup']);
  });

  it('refuses unsupported definitions with InvalidDefinition naming the state and construct', async () => {
    const create = (definition: unknown, name = `bad-${++seq}`) =>
      errorOf(sfn.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn: ROLE })));
    const map = await create({ StartAt: 'Fan', States: { Fan: { Type: 'Map', ItemProcessor: {}, End: true } } });
    expect(map.name).toBe('InvalidDefinition');
    expect(map.message).toContain('State "Fan": type "Map" is not supported by local Step Functions');

    const sqs = await create({
      StartAt: 'Queue',
      States: { Queue: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', Parameters: {}, End: true } },
    });
    expect(sqs.name).toBe('InvalidDefinition');
    expect(sqs.message).toMatch(/State "Queue": resource "arn:aws:states:::sqs:sendMessage" is not supported/);

    const jsonata = await create({ QueryLanguage: 'JSONata', StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });
    expect(jsonata.message).toContain('JSONata');
    const intrinsic = await create({ StartAt: 'H', States: { H: { Type: 'Pass', Parameters: { 'h.$': "States.Hash($.x, 'SHA-256')" }, End: true } } });
    expect(intrinsic.message).toMatch(/State "H".*States\.Hash/);
    const parallel = await create({ StartAt: 'Par', States: { Par: { Type: 'Parallel', Branches: [], End: true } } });
    expect(parallel.message).toContain('State "Par": type "Parallel"');
    const express = await errorOf(
      sfn.send(
        new CreateStateMachineCommand({
          name: `ex-${++seq}`,
          type: 'EXPRESS',
          definition: '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
          roleArn: ROLE,
        }),
      ),
    );
    expect(express.name).toBe('StateMachineTypeNotSupported');

    // Same name and definition is idempotent; a different definition under the name is refused.
    const definition = JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });
    const name = `idem-${++seq}`;
    const one = await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn: ROLE }));
    const two = await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn: ROLE }));
    expect(two.stateMachineArn).toBe(one.stateMachineArn);
    const other = await errorOf(
      sfn.send(
        new CreateStateMachineCommand({ name, definition: JSON.stringify({ StartAt: 'Q', States: { Q: { Type: 'Pass', End: true } } }), roleArn: ROLE }),
      ),
    );
    expect(other.name).toBe('StateMachineAlreadyExists');
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: one.stateMachineArn }));
    expect(described.definition).toBe(definition);
    expect(described.type).toBe('STANDARD');
    const badUpdate = await errorOf(
      sfn.send(new UpdateStateMachineCommand({ stateMachineArn: one.stateMachineArn, definition: '{"StartAt":"X","States":{}}' })),
    );
    expect(badUpdate.name).toBe('InvalidDefinition');
  });

  it('runs Choice, Pass, Wait, Fail, intrinsics and lambda:invoke with the AWS result shape', async () => {
    const sm = await deploy({
      Comment: 'basics',
      StartAt: 'Seed',
      States: {
        Seed: { Type: 'Pass', Result: { tag: 'seeded' }, ResultPath: '$.seed', Next: 'Invoke' },
        Invoke: {
          Type: 'Task',
          Resource: INVOKE,
          Parameters: { FunctionName: fnArn('echo'), 'Payload.$': '$' },
          // The default retry CDK's LambdaInvoke adds.
          Retry: [
            {
              ErrorEquals: ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'],
              IntervalSeconds: 2,
              MaxAttempts: 6,
              BackoffRate: 2,
            },
          ],
          ResultPath: '$.invoke',
          Next: 'Route',
        },
        Route: {
          Type: 'Choice',
          Choices: [
            {
              And: [
                { Variable: '$.invoke.Payload.n', IsNumeric: true },
                { Variable: '$.invoke.Payload.n', NumericGreaterThan: 5 },
              ],
              Next: 'Nap',
            },
            { Variable: '$.invoke.Payload.kind', StringMatches: 'small*', Next: 'TooSmall' },
            { Not: { Variable: '$.missing', IsPresent: true }, Next: 'Shape' },
          ],
        },
        Nap: { Type: 'Wait', SecondsPath: '$.invoke.Payload.nap', Next: 'Shape' },
        Shape: {
          Type: 'Pass',
          Parameters: {
            'message.$': "States.Format('n={} tag={}', $.invoke.Payload.n, $.seed.tag)",
            'sum.$': 'States.MathAdd($.invoke.Payload.n, 1)',
            'list.$': "States.Array('a', $.invoke.Payload.n)",
            'roundTrip.$': 'States.StringToJson(States.JsonToString($.seed))',
            'id.$': 'States.UUID()',
            'status.$': '$.invoke.StatusCode',
            'version.$': '$.invoke.ExecutedVersion',
            'execution.$': '$$.Execution.Name',
            static: { nested: [1, 2] },
          },
          OutputPath: '$',
          Next: 'Done',
        },
        TooSmall: { Type: 'Fail', Error: 'TooSmall', CausePath: "States.Format('n was {}', $.invoke.Payload.n)" },
        Done: { Type: 'Succeed' },
      },
    });
    const t0 = Date.now();
    const big = await start(sm, { n: 10, nap: 1 });
    const small = await start(sm, { n: 1, kind: 'smallish' });
    const [b, s] = await Promise.all([finished(big.arn), finished(small.arn)]);
    expect(b.status).toBe('SUCCEEDED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(b.parsed).toMatchObject({
      message: 'n=10 tag=seeded',
      sum: 11,
      list: ['a', 10],
      roundTrip: { tag: 'seeded' },
      status: 200,
      version: '$LATEST',
      execution: big.name,
      static: { nested: [1, 2] },
    });
    expect(b.parsed?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.status).toBe('FAILED');
    expect(s.error).toBe('TooSmall');
    expect(s.cause).toBe('n was 1');

    // The full lambda:invoke result, and the echo function received the state input.
    const raw = await deploy({
      StartAt: 'Invoke',
      States: { Invoke: { Type: 'Task', Resource: INVOKE, Parameters: { FunctionName: fnArn('echo'), Payload: { 'v.$': '$.v' } }, End: true } },
    });
    const shaped = await finished((await start(raw, { v: 'x' })).arn);
    expect(shaped.parsed).toMatchObject({ ExecutedVersion: '$LATEST', Payload: { v: 'x' }, StatusCode: 200, SdkHttpMetadata: { HttpStatusCode: 200 } });
    expect(shaped.parsed?.SdkResponseMetadata?.RequestId).toEqual(expect.any(String));

    // No match and no Default; a thrown function error (error = its name, cause = errorType/errorMessage JSON).
    const nomatch = await deploy({
      StartAt: 'C',
      States: { C: { Type: 'Choice', Choices: [{ Variable: '$.x', BooleanEquals: true, Next: 'D' }] }, D: { Type: 'Succeed' } },
    });
    const nm = await finished((await start(nomatch, { x: false })).arn);
    expect(nm.status).toBe('FAILED');
    expect(nm.error).toBe('States.NoChoiceMatched');
    const boom = await deploy({ StartAt: 'B', States: { B: { Type: 'Task', Resource: INVOKE, Parameters: { FunctionName: fnArn('boom') }, End: true } } });
    const bf = await finished((await start(boom, {})).arn);
    expect(bf.status).toBe('FAILED');
    expect(bf.error).toBe('TypeError');
    expect(JSON.parse(bf.cause as string)).toEqual({ errorType: 'TypeError', errorMessage: 'bad input' });
  });

  it('resumes a token wait after a restart: the old token still works, and is spent afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-sfn-restart-'));
    tempDirs.push(dir);
    const first = new LocalStepFunctions({ dataDir: dir, invokeLambda });
    const c1 = client(await first.listen());
    const sm = await deploy({ StartAt: 'Notify', States: { Notify: callbackTask({ ResultPath: '$.decision', End: true }) } }, c1);
    const ex = await start(sm, { request: 'survives' }, 'restart-token', c1);
    const token = (await nextCall(ex.name)).payload.token as string;
    c1.destroy();
    await first.close();

    const second = new LocalStepFunctions({ dataDir: dir, invokeLambda });
    await second.start();
    const c2 = client(await second.listen());
    try {
      expect((await c2.send(new DescribeExecutionCommand({ executionArn: ex.arn }))).status).toBe('RUNNING');
      expect(callsFor(ex.name)).toHaveLength(1); // the notify function was not invoked again
      await c2.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"outcome":"approved"}' }));
      const done = await finished(ex.arn, second, c2);
      expect(done.status).toBe('SUCCEEDED');
      expect(done.parsed).toEqual({ request: 'survives', decision: { outcome: 'approved' } });
      expect((await errorOf(c2.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).name).toBe('TaskTimedOut');
    } finally {
      c2.destroy();
      await second.close();
    }
    // ...and the spent token stays spent across yet another restart.
    const third = new LocalStepFunctions({ dataDir: dir, invokeLambda });
    const c3 = client(await third.listen());
    try {
      expect((await errorOf(c3.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).name).toBe('TaskTimedOut');
    } finally {
      c3.destroy();
      await third.close();
    }
  });

  it('fires a task timeout at its ORIGINAL deadline after a restart, and resumes a Wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-sfn-restart-'));
    tempDirs.push(dir);
    const first = new LocalStepFunctions({ dataDir: dir, invokeLambda });
    const c1 = client(await first.listen());
    const sm = await deploy({ StartAt: 'Notify', States: { Notify: callbackTask({ TimeoutSeconds: 2, End: true }) } }, c1);
    const napper = await deploy(
      { StartAt: 'Nap', States: { Nap: { Type: 'Wait', Seconds: 1, Next: 'Done' }, Done: { Type: 'Pass', Result: 'rested', End: true } } },
      c1,
    );
    const ex = await start(sm, {}, 'restart-timeout', c1);
    const nap = await start(napper, {}, 'restart-wait', c1);
    await nextCall(ex.name);
    c1.destroy();
    await first.close();

    await sleep(1000);
    const second = new LocalStepFunctions({ dataDir: dir, invokeLambda });
    const c2 = client(await second.listen());
    try {
      const done = await finished(ex.arn, second, c2);
      expect(done.status).toBe('FAILED');
      expect(done.error).toBe('States.Timeout');
      const elapsed = (done.stopDate as Date).getTime() - (done.startDate as Date).getTime();
      expect(elapsed).toBeGreaterThanOrEqual(1950);
      expect(elapsed).toBeLessThan(2600);
      const rested = await finished(nap.arn, second, c2);
      expect(rested.status).toBe('SUCCEEDED');
      expect(rested.output).toBe('"rested"');
      const history = await c2.send(new GetExecutionHistoryCommand({ executionArn: ex.arn }));
      expect(history.events?.map((e) => e.type)).toContain('TaskTimedOut');
    } finally {
      c2.destroy();
      await second.close();
    }
  });
});
