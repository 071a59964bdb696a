/**
 * The calls behind the bench's one-thread bounds: what each call costs alone, and how many of each a path makes.
 *
 * - `measureCallCosts`: each kind of call, made one at a time against the running local mode; its median time is
 *   the CPU it takes, client and server (every server is local and nothing waits on a disk or a network).
 * - `countPathCalls`: the AWS calls each path makes per request, counted in a separate local mode whose endpoints sit
 *   behind the fault-injection proxies (local/faults.ts), with rules that never fail and only count. The counts
 *   include what the request sets off after it answers (the workflow's notifier, the finalizer). A module that
 *   counts round trips its own way (bench/roundtrips.ts) can supply `counts` instead.
 * - `oneThreadBound`: 1 / (the API request + the sum of count × time alone). It leaves out the handlers' own compute
 *   and the invocations the workflow makes, so it is an upper bound.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GenerateMacCommand, GetPublicKeyCommand, KMSClient, ListAliasesCommand, SignCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { CreateStateMachineCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../lambdas/core/config';
import { LocalFaults } from '../local/faults';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime';
import { median } from './stats';

/** The paths with a one-thread bound. */
export const PATHS = ['allowed intake', 'pending intake', 'decision'] as const;
export type PathName = (typeof PATHS)[number];

/** Call kind (`DynamoDB PutItem`, `KMS Sign`, `API request`) -> ms alone. */
export type CallCosts = Record<string, number>;
/** Call kind -> calls per request of a path. */
export type CallCounts = Record<string, number>;

const API_REQUEST = 'API request (gateway, function)';
const SERVICES = { dynamodb: 'DynamoDB', kms: 'KMS', sfn: 'SFN' } as const;
const OPERATIONS = {
  dynamodb: ['PutItem', 'GetItem', 'Query', 'UpdateItem', 'Scan', 'DeleteItem', 'TransactWriteItems', 'BatchGetItem', 'BatchWriteItem'],
  kms: ['Sign', 'GenerateMac', 'VerifyMac', 'GetPublicKey'],
  sfn: ['StartExecution', 'SendTaskSuccess', 'SendTaskFailure'],
} as const;

const CALLS_ALONE = 40;
const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } };

async function timeAlone(call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < CALLS_ALONE; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Each kind of call the paths make, timed alone against `runtime`. */
export async function measureCallCosts(runtime: LocalRuntime): Promise<CallCosts> {
  const dynamoClient = new DynamoDBClient({ endpoint: runtime.endpoints.dynamodb, ...LOCAL });
  const dynamo = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  const kms = new KMSClient({ endpoint: runtime.endpoints.kms, ...LOCAL });
  const sfn = new SFNClient({ endpoint: runtime.endpoints.sfn, ...LOCAL });
  try {
    const costs: CallCosts = {};
    costs[API_REQUEST] = await timeAlone(async () => {
      const res = await fetch(`${runtime.url}/v1/audit/public-key`, { headers: { authorization: 'Bearer bench-audit-key' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`public key: status ${res.status}`);
    });

    // DynamoDB, on a table of its own, with items the size of a ledger record (about 1 KB).
    const TableName = 'bench-calls';
    await dynamoClient.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'N' },
        ],
      }),
    );
    for (let i = 0; i < 200; i++) {
      const { Table } = await dynamoClient.send(new DescribeTableCommand({ TableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const item = (sk: number) => ({ pk: 'act_bench', sk, data: 'x'.repeat(900), at: new Date().toISOString() });
    for (let sk = 0; sk < 4; sk++) await dynamo.send(new PutCommand({ TableName, Item: item(sk) }));
    let next = 100;
    costs['DynamoDB PutItem'] = await timeAlone(() =>
      dynamo.send(new PutCommand({ TableName, Item: item(next++), ConditionExpression: 'attribute_not_exists(pk)' })),
    );
    costs['DynamoDB GetItem'] = await timeAlone(() => dynamo.send(new GetCommand({ TableName, Key: { pk: 'act_bench', sk: 0 }, ConsistentRead: true })));
    costs['DynamoDB Query'] = await timeAlone(() =>
      dynamo.send(
        new QueryCommand({ TableName, KeyConditionExpression: 'pk = :pk AND sk < :four', ExpressionAttributeValues: { ':pk': 'act_bench', ':four': 4 } }),
      ),
    );
    costs['DynamoDB UpdateItem'] = await timeAlone(() =>
      dynamo.send(
        new UpdateCommand({
          TableName,
          Key: { pk: 'act_bench', sk: 0 },
          UpdateExpression: 'SET #s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': 'pending' },
        }),
      ),
    );

    const { Aliases = [] } = await kms.send(new ListAliasesCommand({}));
    const ledgerKey = Aliases.find((a) => a.AliasName?.includes('Ledger'))?.AliasName;
    const reviewKey = Aliases.find((a) => a.AliasName?.includes('Review'))?.AliasName;
    if (ledgerKey) {
      costs['KMS Sign'] = await timeAlone(() =>
        kms.send(new SignCommand({ KeyId: ledgerKey, Message: randomBytes(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })),
      );
      costs['KMS GetPublicKey'] = await timeAlone(() => kms.send(new GetPublicKeyCommand({ KeyId: ledgerKey })));
    }
    if (reviewKey) {
      const Message = randomBytes(64);
      const { Mac } = await kms.send(new GenerateMacCommand({ KeyId: reviewKey, Message, MacAlgorithm: 'HMAC_SHA_256' }));
      costs['KMS GenerateMac'] = await timeAlone(() => kms.send(new GenerateMacCommand({ KeyId: reviewKey, Message, MacAlgorithm: 'HMAC_SHA_256' })));
      costs['KMS VerifyMac'] = await timeAlone(() => kms.send(new VerifyMacCommand({ KeyId: reviewKey, Message, Mac, MacAlgorithm: 'HMAC_SHA_256' })));
    }

    // Step Functions: starts of a state machine of its own that passes its input through (the engine's own work for a
    // start, without the approval workflow's tasks); a task success with a token nobody holds answers the error.
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: 'bench-calls',
        roleArn: 'arn:aws:iam::000000000000:role/bench',
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
      }),
    );
    let execution = 0;
    const input = JSON.stringify({ requestId: 'act_benchcalls', data: 'x'.repeat(500) });
    costs['SFN StartExecution'] = await timeAlone(() => sfn.send(new StartExecutionCommand({ stateMachineArn, name: `bench-${execution++}`, input })));
    costs['SFN SendTaskSuccess'] = await timeAlone(() =>
      sfn.send(new SendTaskSuccessCommand({ taskToken: 'bench-no-such-token', output: '{}' })).catch(() => undefined),
    );
    return costs;
  } finally {
    dynamoClient.destroy();
    kms.destroy();
    sfn.destroy();
  }
}

/**
 * The AWS calls per request of each path (and its one API request), counted in a second local mode on `dir`
 * through counting fault rules: `perPath` requests of each, one at a time, each phase given time to settle.
 */
export async function countPathCalls(config: Config, dir: string, perPath = 8): Promise<Record<PathName, CallCounts>> {
  const faults = new LocalFaults();
  for (const [service, operations] of Object.entries(OPERATIONS) as Array<[keyof typeof OPERATIONS, readonly string[]]>) {
    for (const operation of operations) faults.add({ service, operation, after: Number.MAX_SAFE_INTEGER });
  }
  const snapshot = () => new Map(faults.list().map((r) => [`${SERVICES[r.service as keyof typeof SERVICES]} ${r.operation}`, r.matched]));
  const runtime = await startLocalRuntime({ config, dataDir: join(dir, 'data'), port: 0, faults, scheduleTimers: false });
  const settle = () => new Promise((r) => setTimeout(r, 1500));
  const agent = { authorization: 'Bearer bench-agent-key', 'content-type': 'application/json' };
  const ask = async (action: string) => {
    const res = await fetch(`${runtime.url}/v1/actions`, { method: 'POST', headers: agent, body: JSON.stringify({ action, resource: 'arn:aws:s3:::bench' }) });
    return ((await res.json()) as { id: string }).id;
  };
  const phase = async (work: () => Promise<void>): Promise<CallCounts> => {
    const before = snapshot();
    for (let i = 0; i < perPath; i++) await work();
    await settle();
    const counts: CallCounts = { [API_REQUEST]: 1 };
    for (const [call, n] of snapshot()) if (n > (before.get(call) ?? 0)) counts[call] = (n - (before.get(call) ?? 0)) / perPath;
    return counts;
  };
  try {
    // Warm: the first requests read keys and the config once per environment.
    await ask('users.read');
    await settle();
    const pending: string[] = [];
    const counts = {
      'allowed intake': await phase(async () => void (await ask('users.read'))),
      'pending intake': await phase(async () => void pending.push(await ask('data.export'))),
      decision: await phase(async () => {
        const res = await fetch(`${runtime.url}/v1/actions/${pending.pop()}/decision`, {
          method: 'POST',
          headers: { authorization: 'Bearer bench-alice-key', 'content-type': 'application/json' },
          body: JSON.stringify({ decision: 'approve' }),
        });
        await res.arrayBuffer();
      }),
    };
    return counts;
  } finally {
    await runtime.close();
  }
}

/** A path's one-thread bound: its calls' time alone, summed (ms per request), and its inverse (requests/s). */
export function oneThreadBound(costs: CallCosts, counts: CallCounts): { ms: number; perSecond: number; unmeasured: string[] } {
  let ms = 0;
  const unmeasured: string[] = [];
  for (const [call, n] of Object.entries(counts)) {
    const cost = costs[call];
    if (cost === undefined) unmeasured.push(call);
    else ms += n * cost;
  }
  return { ms, perSecond: ms > 0 ? 1000 / ms : NaN, unmeasured };
}
