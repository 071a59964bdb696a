/**
 * Lambda's execution model in local mode (local/lambda.ts): each function runs in processes of its own with exactly
 * its environment, gets a Lambda context counting down from its Timeout, is ended past that Timeout and answered as
 * API Gateway and Step Functions answer a timed-out Lambda, and is throttled beyond its reserved concurrency. The
 * functions here are small handlers written for the test, run under specs built as local mode builds them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import { parseConfig } from '../../lambdas/core/config-yaml';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { type GatewayRoute, LocalGateway } from '../../local/gateway';
import { LocalInbox } from '../../local/inbox';
import { FunctionError, type LocalFunctionSpec, LocalFunctions, stepFunctionsInvoker, TooManyRequestsException } from '../../local/lambda';
import { envSecretNames, LOCAL_SLACK_BOT_TOKEN, localFunctionSpecs, localSecrets } from '../../local/runtime';
import { LocalStepFunctions } from '../../local/sfn';
import { synthesizeForLocal } from '../../local/synth';
import { eventually, ROOT } from './harness';

/** A handler doing what each event asks, in the style of a bundle: CommonJS exporting `handler`. */
const PROBE = `
exports.handler = async (event, context) => {
  switch (event.kind) {
    case 'env': return { env: { ...process.env } };
    case 'context': return { remaining: context.getRemainingTimeInMillis(), requestId: context.awsRequestId, functionName: context.functionName, memory: context.memoryLimitInMB, arn: context.invokedFunctionArn };
    case 'hang': setInterval(() => {}, 1000); return new Promise(() => {});
    case 'hold': await fetch(event.url); return { pid: process.pid };
    case 'throw': { const err = new Error('boom'); err.name = 'CustomError'; throw err; }
    default: return { pid: process.pid };
  }
};
`;

const ARN = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('execution environments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-lambda-'));
  const probe = join(dir, 'index.js');
  const spec = (name: string, extra: Partial<LocalFunctionSpec> = {}): LocalFunctionSpec => ({
    name,
    code: { file: probe, handler: 'handler' },
    timeoutSeconds: 10,
    memorySize: 256,
    environment: { ONLY_IN: name },
    cwd: dir,
    ...extra,
  });
  let functions: LocalFunctions;
  // A switch the `hold` events wait on: each request is answered when the test releases it.
  let gate: Server;
  let gateUrl: string;
  const held: Array<() => void> = [];
  const releaseAll = () => held.splice(0).forEach((release) => release());

  beforeAll(async () => {
    writeFileSync(probe, PROBE);
    process.env.ONLY_IN_LOCAL_MODE = 'the parent process';
    functions = new LocalFunctions([
      spec('Quick'),
      spec('Other', { environment: { ONLY_IN: 'Other', OTHER_TABLE: 'other-table' } }),
      spec('Slow', { timeoutSeconds: 1 }),
      spec('Single', { reservedConcurrency: 1 }),
    ]);
    gate = createServer((_req, res) => held.push(() => res.end('ok')));
    gateUrl = await listenLoopback(gate);
  });
  afterAll(async () => {
    releaseAll();
    functions.close();
    await closeServer(gate);
    delete process.env.ONLY_IN_LOCAL_MODE;
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives each function exactly its environment: nothing of local mode's own, nothing of another function's", async () => {
    const { env } = (await functions.invoke('Quick', { kind: 'env' })) as { env: Record<string, string> };
    expect(env).toEqual({ ONLY_IN: 'Quick' });
    const other = (await functions.invoke('Other', { kind: 'env' })) as { env: Record<string, string> };
    expect(other.env).toEqual({ ONLY_IN: 'Other', OTHER_TABLE: 'other-table' });
  });

  it('gives the handler a Lambda context whose remaining time counts down from the Timeout', async () => {
    const context = (await functions.invoke('Quick', { kind: 'context' })) as Record<string, unknown>;
    expect(context.remaining).toBeGreaterThan(0);
    expect(context.remaining).toBeLessThanOrEqual(10_000);
    expect(context).toMatchObject({ functionName: 'Quick', memory: '256', arn: ARN('Quick') });
    expect(context.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('keeps an environment warm for the next invocation, and starts another for an overlapping one', async () => {
    const first = (await functions.invoke('Quick', {})) as { pid: number };
    expect(((await functions.invoke('Quick', {})) as { pid: number }).pid).toBe(first.pid);
    const overlapping = [functions.invoke('Quick', { kind: 'hold', url: gateUrl }), functions.invoke('Quick', { kind: 'hold', url: gateUrl })];
    await eventually(async () => (held.length === 2 ? true : undefined));
    releaseAll();
    const pids = ((await Promise.all(overlapping)) as Array<{ pid: number }>).map((r) => r.pid);
    expect(new Set(pids).size).toBe(2);
    expect(pids).toContain(first.pid);
    expect(functions.environments('Quick')).toBe(2);
  });

  it("answers a handler's error as Lambda does: its errorType and message", async () => {
    const err = await functions.invoke('Quick', { kind: 'throw' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionError);
    expect((err as FunctionError).payload).toMatchObject({ errorType: 'CustomError', errorMessage: 'boom' });
  });

  it('ends an invocation past its Timeout: the environment is killed and the answer is Sandbox.Timedout', async () => {
    const { pid } = (await functions.invoke('Slow', {})) as { pid: number };
    const err = await functions.invoke('Slow', { kind: 'hang' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionError);
    expect((err as FunctionError).errorType).toBe('Sandbox.Timedout');
    expect((err as FunctionError).message).toMatch(/^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/);
    await eventually(async () => (alive(pid) ? undefined : true));
    // The next invocation gets a fresh environment.
    const next = (await functions.invoke('Slow', {})) as { pid: number };
    expect(next.pid).not.toBe(pid);
  });

  it('throttles an invocation beyond the reserved concurrency with TooManyRequestsException, and runs the next', async () => {
    const running = functions.invoke('Single', { kind: 'hold', url: gateUrl });
    await eventually(async () => (held.length === 1 ? true : undefined));
    const err = await functions.invoke('Single', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRequestsException);
    expect(err).toMatchObject({ name: 'TooManyRequestsException', status: 429, message: 'Rate Exceeded.' });
    releaseAll();
    await running;
    expect(await functions.invoke('Single', {})).toMatchObject({ pid: expect.any(Number) });
  });

  describe('answered through the gateway as an HTTP API answers', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      const route = (path: string, functionId: string, integrationTimeoutMs?: number): GatewayRoute => ({
        routeKey: `GET /${path}`,
        method: 'GET',
        segments: [path],
        auth: 'NONE',
        functionId,
        ...(integrationTimeoutMs !== undefined ? { integrationTimeoutMs } : {}),
      });
      const gateway = new LocalGateway({
        routes: [route('slow', 'Slow'), route('single', 'Single'), route('held', 'Quick', 200)],
        invoke: (id, event) =>
          functions.invoke(id, {
            ...event,
            kind: event.rawQueryString === 'hang' ? 'hang' : event.rawQueryString === 'hold' ? 'hold' : undefined,
            url: gateUrl,
          }),
        apiKeys: () => ({}),
        inbox: new LocalInbox(join(dir, 'inbox')),
        ready: () => true,
      });
      server = createServer(gateway.handler);
      url = await listenLoopback(server);
    });
    afterAll(() => closeServer(server));

    const get = async (path: string) => {
      const res = await fetch(`${url}${path}`);
      return { status: res.status, body: (await res.json()) as unknown };
    };

    it('a function past its Timeout: 500 Internal Server Error', async () => {
      expect(await get('/slow?hang')).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
    });

    it("a throttled function: 500 Internal Server Error (an HTTP API does not pass Lambda's 429 on)", async () => {
      const running = functions.invoke('Single', { kind: 'hold', url: gateUrl });
      await eventually(async () => (held.length === 1 ? true : undefined));
      expect(await get('/single')).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
      releaseAll();
      await running;
    });

    it("past the integration's timeout: 503 Service Unavailable, while the function runs on", async () => {
      expect(await get('/held?hold')).toEqual({ status: 503, body: { message: 'Service Unavailable' } });
      await eventually(async () => (held.length === 1 ? true : undefined));
      releaseAll();
    });
  });

  describe('answered to Step Functions as the lambda:invoke integration sees it', () => {
    let sfn: LocalStepFunctions;
    let client: SFNClient;
    let stateMachineArn: string;
    beforeAll(async () => {
      sfn = new LocalStepFunctions({
        dataDir: join(dir, 'sfn'),
        invokeLambda: stepFunctionsInvoker(
          (name, payload) => functions.invoke(name, payload),
          (arn) => arn.split(':').at(-1)!,
        ),
      });
      client = new SFNClient({ endpoint: await sfn.listen(), region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      const definition = {
        StartAt: 'Call',
        States: {
          Call: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { 'FunctionName.$': '$.fn', 'Payload.$': '$.payload' },
            Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Caught' }],
            End: true,
          },
          Caught: { Type: 'Pass', End: true },
        },
      };
      stateMachineArn = (
        await client.send(new CreateStateMachineCommand({ name: 'probe', definition: JSON.stringify(definition), roleArn: 'arn:aws:iam::000000000000:role/x' }))
      ).stateMachineArn!;
    });
    afterAll(async () => {
      client.destroy();
      await sfn.close();
    });

    const run = async (input: unknown) => {
      const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
      const done = await eventually(async () => {
        const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
        return execution.status === 'RUNNING' ? undefined : execution;
      });
      return JSON.parse(done.output ?? 'null') as { error?: { Error: string; Cause: string } };
    };

    it('a function past its Timeout: the task fails with Sandbox.Timedout, which States.TaskFailed catches', async () => {
      const { error } = await run({ fn: ARN('Slow'), payload: { kind: 'hang' } });
      expect(error?.Error).toBe('Sandbox.Timedout');
      expect(JSON.parse(error!.Cause)).toEqual({
        errorType: 'Sandbox.Timedout',
        errorMessage: expect.stringMatching(/^RequestId: \S+ Error: Task timed out after 1\.00 seconds$/),
      });
    });

    it('a throttled function: the task fails with Lambda.TooManyRequestsException', async () => {
      const running = functions.invoke('Single', { kind: 'hold', url: gateUrl });
      await eventually(async () => (held.length === 1 ? true : undefined));
      const { error } = await run({ fn: ARN('Single'), payload: {} });
      releaseAll();
      await running;
      expect(error?.Error).toBe('Lambda.TooManyRequestsException');
      expect(error?.Cause).toMatch(/^Rate Exceeded\. \(Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; /);
    });
  });
});

describe('the secrets local mode copies in from its own environment', () => {
  it('are only the env: references of the fields that name secrets, never an env: text elsewhere in the policy', () => {
    const config = parseConfig(
      stringify({
        version: 1,
        groups: { g: { members: [{ id: 'a@example.com' }] } },
        rules: [{ name: 'r', match: { action: 'x', environment: 'env:HOME' }, effect: 'deny', reason: 'env:PATH' }],
        channels: { slack: { botToken: 'env:SLACK_TOKEN', signingSecret: 'env:SLACK_SIGNING' } },
        default: { effect: 'deny' },
      }),
    );
    expect(envSecretNames(config)).toEqual(['SLACK_SIGNING', 'SLACK_TOKEN']);
  });

  it("point the channels at local mode's own: the Teams webhook is the local one, an unset Slack token a local one", () => {
    const config = parseConfig(
      stringify({
        version: 1,
        groups: { g: { members: [{ id: 'a@example.com' }] } },
        channels: {
          email: { from: 'cs@example.com' },
          slack: { botToken: 'env:SLACK_TOKEN', signingSecret: 'env:SLACK_SIGNING' },
          teams: { webhookUrl: 'env:TEAMS_URL' },
        },
        default: { effect: 'deny' },
      }),
    );
    const channels = { teamsWebhook: 'http://127.0.0.1:7/workflows/w' };
    // Whatever the shell says, Teams cards go to the local webhook; the shell's Slack token is the one Slack accepts.
    expect(
      localSecrets(config, { SLACK_TOKEN: 'xoxb-shell', SLACK_SIGNING: 's', TEAMS_URL: 'https://example.webhook.office.com/x', HOME: '/h' }, channels),
    ).toEqual({
      SLACK_TOKEN: 'xoxb-shell',
      SLACK_SIGNING: 's',
      TEAMS_URL: 'http://127.0.0.1:7/workflows/w',
    });
    expect(localSecrets(config, {}, channels)).toEqual({ SLACK_TOKEN: LOCAL_SLACK_BOT_TOKEN, TEAMS_URL: 'http://127.0.0.1:7/workflows/w' });
  });
});

describe("the synthesized functions' environments", () => {
  it("are what the template gives each one, resolved locally, with Lambda's own variables and local mode's endpoints", async () => {
    const config = loadConfigFile(join(ROOT, 'countersign.config.yaml'));
    const { template, functions } = synthesizeForLocal(config);
    const specs = localFunctionSpecs(
      template,
      functions,
      { ref: (id) => id, getAtt: (id) => ARN(id) },
      {
        code: (fn) => ({ kind: 'bundle', file: `/bundles/${fn.logicalId}/index.js` }),
        endpoints: {
          dynamodb: 'http://127.0.0.1:1',
          kms: 'http://127.0.0.1:2',
          sfn: 'http://127.0.0.1:3',
          ses: 'http://127.0.0.1:5',
          slackApi: 'http://127.0.0.1:6/api',
          secretsManager: 'http://127.0.0.1:8',
        },
        publicUrl: 'http://127.0.0.1:4',
        secrets: {},
        config,
      },
    );
    const byName = (prefix: string) => specs.find((s) => s.name.startsWith(prefix))!;
    const intake = byName('CountersignIntake');
    const checkpointer = byName('CountersignCheckpointer');
    const notifier = byName('CountersignNotifier');
    const props = (s: LocalFunctionSpec) => template.Resources[s.name]!.Properties!;
    for (const s of [intake, checkpointer, notifier]) {
      expect(s.timeoutSeconds).toBe(props(s).Timeout);
      expect(s.memorySize).toBe(props(s).MemorySize);
      expect(s.code).toEqual({ file: `/bundles/${s.name}/index.js`, handler: 'handler' });
      const templateNames = Object.keys((props(s).Environment as { Variables: object }).Variables);
      const lambdaNames = [
        'AWS_REGION',
        'AWS_DEFAULT_REGION',
        'AWS_EXECUTION_ENV',
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_INITIALIZATION_TYPE',
        '_HANDLER',
        'LAMBDA_TASK_ROOT',
        'TZ',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_SESSION_TOKEN',
      ];
      const localNames = [
        'AWS_ENDPOINT_URL_DYNAMODB',
        'AWS_ENDPOINT_URL_KMS',
        'AWS_ENDPOINT_URL_SFN',
        'AWS_ENDPOINT_URL_SESV2',
        'AWS_ENDPOINT_URL_SECRETS_MANAGER',
        'COUNTERSIGN_SLACK_API_URL',
      ];
      const nodeWarning = Number(process.versions.node.split('.')[0]) < 22 ? ['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] : [];
      expect(Object.keys(s.environment).sort()).toEqual([...templateNames, ...lambdaNames, ...localNames, ...nodeWarning].sort());
      expect(s.environment).toMatchObject({
        AWS_LAMBDA_FUNCTION_NAME: s.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props(s).MemorySize),
        TZ: ':UTC',
        NODE_OPTIONS: '--enable-source-maps',
      });
      // The bundle has the policy inlined, as on AWS.
      expect(s.environment).not.toHaveProperty('COUNTERSIGN_CONFIG_JSON');
    }
    // Another function's variables are absent: the checkpointer reads only the ledger.
    expect(intake.environment.REQUESTS_TABLE).toBeDefined();
    expect(intake.environment.STATE_MACHINE_ARN).toBeDefined();
    expect(checkpointer.environment).not.toHaveProperty('REQUESTS_TABLE');
    expect(checkpointer.environment).not.toHaveProperty('STATE_MACHINE_ARN');
    expect(intake.environment).not.toHaveProperty('CHECKPOINT_SETTLE_SECONDS');
    // The API's URL is the gateway's, where the template gives it.
    expect(notifier.environment.COUNTERSIGN_PUBLIC_URL).toBe('http://127.0.0.1:4');
    expect(intake.environment).not.toHaveProperty('COUNTERSIGN_PUBLIC_URL');
    // Email and Slack reach local mode's own SES and Slack; callbacks may reach loopback where the template vets them.
    expect(notifier.environment).toMatchObject({ AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:5', COUNTERSIGN_SLACK_API_URL: 'http://127.0.0.1:6/api' });
    // Secret ARNs are read from local mode's Secrets Manager, through the variable the SDK derives from its service id.
    expect(notifier.environment.AWS_ENDPOINT_URL_SECRETS_MANAGER).toBe('http://127.0.0.1:8');
    expect((props(intake).Environment as { Variables: Record<string, unknown> }).Variables.CALLBACK_NETWORK).toBe('public');
    expect(intake.environment.CALLBACK_NETWORK).toBe('loopback');
    expect(byName('CountersignFinalizer').environment.CALLBACK_NETWORK).toBe('loopback');
    expect(notifier.environment).not.toHaveProperty('CALLBACK_NETWORK');
  });
});
