/**
 * AWS calls per path, counted at the SDK: the use cases run with the real adapters (the ledger table, the requests
 * table, the KMS signer and MAC, Step Functions) over SDK clients whose `send` answers in memory after a fixed
 * latency, and records each call. Serial depth is the longest chain of calls each waiting on the one before: a call
 * is one step deeper than the deepest call that had ended when it started.
 *
 *   npx tsx bench/roundtrips.ts            prints the table
 *   import { measureRoundTrips } from './roundtrips'; await measureRoundTrips()   the same, as data
 *
 * Email goes through a counted outbox (one SES SendEmail a message). The wait path runs on a clock that moves only
 * when the wait sleeps, so a 20 s wait takes milliseconds.
 */
import { createHmac } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { p256 } from '@noble/curves/nist.js';
import { certifiedRecordSigner } from '../lambdas/adapters/certified-signer';
import { grantIndexTable } from '../lambdas/adapters/grant-index';
import { kmsMac } from '../lambdas/adapters/kms-mac';
import { kmsLedgerSigner } from '../lambdas/adapters/kms-signer';
import { LedgerTable } from '../lambdas/adapters/ledger-table';
import { requestsTable } from '../lambdas/adapters/request-store';
import { stepFunctionsWorkflow } from '../lambdas/adapters/step-functions';
import { askForAction } from '../lambdas/app/ask';
import { notifyApprovers } from '../lambdas/app/notify';
import { cancelAction, readAction } from '../lambdas/app/read';
import { castVote } from '../lambdas/app/vote';
import { parseConfig } from '../lambdas/core/config-yaml';
import { identityDirectory } from '../lambdas/core/identity';
import type { Clock, Ports } from '../lambdas/core/ports';

/** What every fake AWS call takes: long enough that overlapping calls overlap, short enough to run in a blink. */
const LATENCY_MS = 3;

const AGENT = 'arn:aws:iam::111122223333:role/agent';
const CONFIG = parseConfig(`
version: 1
groups:
  owners:
    members:
      - { id: alice@example.com, email: alice@example.com }
      - { id: bob@example.com, email: bob@example.com }
rules:
  - { name: reads, match: { action: "*.read" }, effect: allow }
  - { name: drops, match: { action: "db.drop" }, effect: deny, reason: never }
  - { name: exports, match: { action: data.export }, effect: require_approval, approvers: [owners], minApprovals: 2, timeout: 1h }
  - { name: applies, match: { action: infra.apply }, effect: require_approval, approvers: [owners], minApprovals: 1, timeout: 1h }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
channels:
  email: { from: countersign@example.com }
`);

interface Call {
  readonly name: string;
  readonly depth: number;
}

/** Records calls and their depth: one more than the deepest call already over when it started. */
class CallLog {
  calls: Call[] = [];
  private ended: number[] = [];
  async run<T>(name: string, answer: () => T): Promise<T> {
    const depth = 1 + Math.max(0, ...this.ended);
    this.calls.push({ name, depth });
    await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
    try {
      return answer();
    } finally {
      this.ended.push(depth);
    }
  }
  reset(): void {
    this.calls = [];
    this.ended = [];
  }
}

type Item = Record<string, unknown>;

/** DynamoDB in memory, for exactly the commands and expressions the adapters send. */
function fakeDynamo(log: CallLog): DynamoDBDocumentClient {
  const tables = new Map<string, Map<string, Item>>();
  const table = (name: string) => tables.get(name) ?? tables.set(name, new Map()).get(name)!;
  const keyOf = (item: Item) => (item.requestId !== undefined ? `${item.requestId}#${item.seq}` : String(item.id));
  const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  const put = (input: Item, check = true) => {
    const rows = table(String(input.TableName));
    const item = input.Item as Item;
    if (check && input.ConditionExpression && rows.has(keyOf(item))) return false;
    rows.set(keyOf(item), structuredClone(item));
    return true;
  };
  return {
    send: (command: { constructor: { name: string }; input: Item }) => {
      const { input } = command;
      const name = command.constructor.name.replace(/Command$/, '');
      return log.run(
        `DynamoDB ${name === 'Put' ? 'PutItem' : name === 'Get' ? 'GetItem' : name === 'Update' ? 'UpdateItem' : name === 'TransactWrite' ? 'TransactWriteItems' : name}`,
        () => {
          switch (name) {
            case 'Put':
              if (!put(input)) throw conditionFailed();
              return {};
            case 'TransactWrite': {
              const puts = (input.TransactItems as Array<{ Put: Item }>).map((t) => t.Put);
              const taken = puts.map((p) => table(String(p.TableName)).has(keyOf(p.Item as Item)));
              if (taken.some(Boolean)) {
                throw new TransactionCanceledException({
                  message: 'Transaction cancelled',
                  $metadata: {},
                  CancellationReasons: taken.map((t) => ({ Code: t ? 'ConditionalCheckFailed' : 'None' })),
                });
              }
              for (const p of puts) put(p, false);
              return {};
            }
            case 'Get': {
              const item = table(String(input.TableName)).get(String((input.Key as Item).id));
              if (!item) return {};
              return { Item: input.ProjectionExpression ? { status: item.status } : structuredClone(item) };
            }
            case 'Query': {
              const values = input.ExpressionAttributeValues as Item;
              const items = [...table(String(input.TableName)).values()]
                .filter((i) => i.requestId === values[':requestId'] && Number(i.seq) > Number(values[':afterSeq']))
                .sort((a, b) => Number(a.seq) - Number(b.seq));
              return { Items: structuredClone(items) };
            }
            case 'Update': {
              const rows = table(String(input.TableName));
              const id = String((input.Key as Item).id);
              const item = rows.get(id);
              if (!item) throw conditionFailed();
              const values = input.ExpressionAttributeValues as Item;
              const expression = String(input.UpdateExpression);
              if (expression.includes('taskToken')) item.taskToken = values[':t'];
              if (expression.includes('#s = :s')) {
                item.status = values[':s'];
                delete item.pendingShard;
              }
              if (expression.includes('receipt')) item.receipt ??= values[':r'];
              return { Attributes: structuredClone(item) };
            }
            default:
              throw new Error(`fake DynamoDB: no ${name}`);
          }
        },
      );
    },
  } as unknown as DynamoDBDocumentClient;
}

/** KMS in memory: ECDSA P-256 Sign over a digest, HMAC GenerateMac. */
function fakeKms(log: CallLog): KMSClient {
  const secretKey = p256.utils.randomSecretKey();
  return {
    send: (command: { constructor: { name: string }; input: Item }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      return log.run(`KMS ${name}`, () => {
        if (name === 'Sign') return { Signature: p256.sign(command.input.Message as Uint8Array, secretKey, { prehash: false, format: 'der' }) };
        if (name === 'GenerateMac')
          return {
            Mac: createHmac('sha256', 'bench')
              .update(command.input.Message as Uint8Array)
              .digest(),
          };
        throw new Error(`fake KMS: no ${name}`);
      });
    },
  } as unknown as KMSClient;
}

function fakeSfn(log: CallLog): SFNClient {
  return {
    send: (command: { constructor: { name: string } }) =>
      log.run(`SFN ${command.constructor.name.replace(/Command$/, '')}`, () => ({ startDate: new Date(), executionArn: 'arn' })),
  } as unknown as SFNClient;
}

/** A clock whose sleeps pass at once (the wait path), moving its own time. */
function virtualClock(): Clock & { offset: number } {
  const clock = {
    offset: 0,
    now: () => new Date(Date.now() + clock.offset),
    sleep: async (ms: number) => {
      clock.offset += Math.max(0, ms);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return clock;
}

function benchPorts(log: CallLog, clock: Clock): Ports & { readonly warm: () => Promise<unknown> } {
  const dynamo = fakeDynamo(log);
  const kms = fakeKms(log);
  const signer = kmsLedgerSigner(kms, 'arn:aws:kms:us-east-1:111122223333:key/ledger');
  const directory = identityDirectory(CONFIG);
  // Records are signed as the functions sign them: with the environment's own key, which the ledger key certified
  // once (its Sign and PutItem happen in `warm`, before anything is counted, as in a warm environment).
  const recordSigner = certifiedRecordSigner({ ledgerKey: signer, functionName: 'bench', store: async () => {}, clock: () => clock.now() });
  return {
    warm: () => recordSigner.recordKey(),
    ledger: new LedgerTable({ tableName: 'ledger', dynamo, signer, recordSigner }),
    metrics: { count: () => {}, timing: () => {} },
    requests: requestsTable(dynamo, () => 'requests'),
    grants: grantIndexTable(dynamo, () => 'requests'),
    workflow: stepFunctionsWorkflow(
      fakeSfn(log),
      () => 'arn:aws:states:us-east-1:111122223333:stateMachine:m',
      () => directory,
    ),
    outbox: { deliver: () => log.run('SES SendEmail', () => undefined) },
    signer,
    mac: kmsMac(kms, 'arn:aws:kms:us-east-1:111122223333:key/mac'),
    clock,
    policy: { config: () => CONFIG, directory: () => directory, version: () => 'bench' },
    publicUrl: 'https://countersign.example.com',
  };
}

export interface PathCount {
  readonly path: string;
  readonly calls: number;
  readonly depth: number;
  /** Calls by kind, e.g. `{ 'KMS Sign': 4 }`. */
  readonly byKind: Record<string, number>;
}

/** Calls and serial depth of each request path, run once each with the real adapters. */
export async function measureRoundTrips(): Promise<PathCount[]> {
  const log = new CallLog();
  const clock = virtualClock();
  const ports = benchPorts(log, clock);
  await ports.warm();
  const results: PathCount[] = [];
  const measure = async <T>(path: string, run: () => Promise<T>): Promise<T> => {
    log.reset();
    const answer = await run();
    const byKind: Record<string, number> = {};
    for (const call of log.calls) byKind[call.name] = (byKind[call.name] ?? 0) + 1;
    results.push({ path, calls: log.calls.length, depth: Math.max(0, ...log.calls.map((c) => c.depth)), byKind });
    return answer;
  };
  const ask = (action: string, idempotencyKey?: string) =>
    askForAction(ports, {
      requester: AGENT,
      request: { action, parameters: { n: 1 } },
      callbackNetwork: 'public',
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
  const vote = (id: string, approver: string, decision: 'approve' | 'deny') =>
    castVote(ports, id, { approver, via: 'decision_api', signedIn: true }, { decision });

  await measure('intake: allowed at once', () => ask('reports.read'));
  await measure('intake: denied at once', () => ask('db.drop'));
  const { state: pending } = await measure('intake: pending (workflow started)', () => ask('data.export'));
  await measure('intake: pending, with Idempotency-Key', () => ask('data.export', 'key-1'));
  await measure('intake: retry of the same Idempotency-Key', () => ask('data.export', 'key-1'));
  await measure('notifier: Notify, 2 approvers by email', () => notifyApprovers(ports, pending.id, 'token-1', Date.now() + 60_000));
  await measure('decision: vote that does not settle', () => vote(pending.id, 'alice@example.com', 'approve'));
  await measure('decision: vote that approves', () => vote(pending.id, 'bob@example.com', 'approve'));
  const { state: toDeny } = await ask('infra.apply');
  await notifyApprovers(ports, toDeny.id, 'token-2', Date.now() + 60_000);
  await measure('decision: vote that denies', () => vote(toDeny.id, 'alice@example.com', 'deny'));
  const { state: toCancel } = await ask('infra.apply');
  await notifyApprovers(ports, toCancel.id, 'token-3', Date.now() + 60_000);
  await measure('intake: cancel', () => cancelAction(ports, AGENT, toCancel.id));
  await measure('intake: GET (approved, with receipt)', () => readAction(ports, AGENT, pending.id, 0));
  const { state: waiting } = await ask('infra.apply');
  // A wait polls by the request's age: densely on one just made, once a second on one a minute old.
  await measure('intake: GET ?wait=20 that times out', () => readAction(ports, AGENT, waiting.id, clock.now().getTime() + 20_000));
  clock.offset += 40_000;
  await measure('intake: GET ?wait=20 that times out, a minute in', () => readAction(ports, AGENT, waiting.id, clock.now().getTime() + 20_000));
  return results;
}

export function formatRoundTrips(counts: readonly PathCount[]): string {
  const width = Math.max(...counts.map((c) => c.path.length));
  return counts
    .map(
      (c) =>
        `${c.path.padEnd(width)}  ${String(c.calls).padStart(3)} calls  depth ${String(c.depth).padStart(2)}  ${Object.entries(c.byKind)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ')}`,
    )
    .join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatRoundTrips(await measureRoundTrips()));
}
