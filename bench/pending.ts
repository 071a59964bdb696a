/**
 * What the work that grows with the pending requests costs, at 100 and at 1,000 pending: one repair run, one
 * `GET /v1/me/pending`, and one windowed export (a window of the last hour). Against dynalite with the real adapters
 * (requests table, ledger table, export pager); the DynamoDB calls (and StartExecution calls) are counted at the
 * client, with the items DynamoDB read for them. "before" is the previous code, kept here as it was: the repair job
 * listed the 500 oldest pending requests and read each one's item and chain and tried its workflow; the pending list
 * read the chains of the 200 oldest pending requests; a windowed export scanned the whole table with a filter.
 *
 * `pendingFigures({ sizes: [100, 1000] })` answers figure rows; `tsx bench/pending.ts` prints them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { grantIndexTable } from '../lambdas/adapters/grant-index';
import { exportLedgerPage } from '../lambdas/adapters/ledger-scan';
import { LedgerTable } from '../lambdas/adapters/ledger-table';
import { requestsTable } from '../lambdas/adapters/request-store';
import { askForAction } from '../lambdas/app/ask';
import { repairPending } from '../lambdas/app/repair';
import { pendingFor } from '../lambdas/app/vote';
import { awaitsVoteFrom, deriveState } from '../lambdas/core/approval';
import { CHECKPOINT_PARTITION } from '../lambdas/core/checkpoint';
import { parseConfig } from '../lambdas/core/config-yaml';
import type { Clock, Ports, Workflow } from '../lambdas/core/ports';
import { PENDING_INDEX, PENDING_SHARDS } from '../lambdas/core/request';
import { closeServer, listenLoopback } from '../local/aws-json';
import { dynamoWithTransactions } from '../local/dynamo-transactions';
import { memoryMac, memoryPolicy, memorySigner } from '../test/fixtures/memory-ports';
import { createTable, LEDGER_TABLE_SCHEMA, REQUESTS_TABLE_SCHEMA } from '../test/fixtures/tables';
import { type Figure, formatTable } from './stats';

const TEAMS = 10;
/** Requests in the exported window (the last hour), besides the pending ones from the day before. */
const RECENT = 20;
const AGENT = 'arn:aws:iam::111122223333:role/bench-agent';
/** An approver of one team in ten. */
const CALLER = 't0a@example.com';

const config = parseConfig(`
version: 1
groups:
${Array.from({ length: TEAMS }, (_, i) => `  team${i}: { members: [{ id: t${i}a@example.com, email: t${i}a@example.com }, { id: t${i}b@example.com, email: t${i}b@example.com }] }`).join('\n')}
rules:
${Array.from({ length: TEAMS }, (_, i) => `  - { name: team${i}, match: { action: "team${i}.*" }, effect: require_approval, approvers: [team${i}], timeout: 7d }`).join('\n')}
default: { effect: deny }
auditors: [audit@example.com]
channels: { email: { from: countersign@example.com } }
`);

/** Counts the calls made through it, and the items DynamoDB read for them. */
function counting(dynamo: DynamoDBDocumentClient) {
  const tally = { calls: 0, items: 0 };
  const client = {
    send: async (command: unknown) => {
      tally.calls += 1;
      const answer = (await dynamo.send(command as never)) as Record<string, unknown>;
      const responses = answer.Responses as Record<string, unknown[]> | undefined;
      tally.items += Number(answer.ScannedCount ?? answer.Count ?? (responses ? Object.values(responses).flat().length : answer.Item ? 1 : 0));
      return answer;
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, tally };
}

/** The previous code's listing: the oldest `limit` pending ids from the keys-only `pending` index. */
async function oldListPending(dynamo: DynamoDBDocumentClient, table: string, limit: number): Promise<string[]> {
  const shards = await Promise.all(
    Array.from({ length: PENDING_SHARDS }, async (_, shard) => {
      const { Items = [] } = await dynamo.send(
        new QueryCommand({
          TableName: table,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pendingShard = :p',
          ExpressionAttributeValues: { ':p': `p${shard}` },
          Limit: limit,
        }),
      );
      return Items.map((item) => ({ id: String(item.id), createdAt: String(item.createdAt) }));
    }),
  );
  return shards
    .flat()
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
    .slice(0, limit)
    .map((i) => i.id);
}

const timed = async <T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> => {
  const start = performance.now();
  const result = await work();
  return { result, ms: performance.now() - start };
};

/** Figure rows for each number of pending requests. */
export async function pendingFigures(options: { readonly sizes?: readonly number[] } = {}): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const pending of options.sizes ?? [100, 1000]) figures.push(...(await oneSize(pending)));
  return figures;
}

async function oneSize(pending: number): Promise<Figure[]> {
  const server = dynalite({ createTableMs: 0 });
  // As local mode serves DynamoDB: dynalite, behind the layer that adds TransactWriteItems (the ledger writes a batch with it).
  const front = dynamoWithTransactions(await listenLoopback(server));
  const url = await listenLoopback(front);
  const raw = new DynamoDBClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  try {
    await createTable(raw, 'requests', REQUESTS_TABLE_SCHEMA);
    await createTable(raw, 'ledger', LEDGER_TABLE_SCHEMA);
    const now = Date.now();
    let time = now - 24 * 3_600_000;
    const clock: Clock = { now: () => new Date(time), sleep: async () => {} };
    const starts = { calls: 0 };
    const workflow: Workflow = {
      start: async () => (starts.calls++, false), // the workflow runs
      sendOutcome: async () => {},
    };
    const portsFor = (client: DynamoDBDocumentClient): Ports => {
      const signer = memorySigner();
      return {
        ledger: new LedgerTable({ tableName: 'ledger', dynamo: client, signer, clock: clock.now }),
        requests: requestsTable(client, () => 'requests'),
        grants: grantIndexTable(client, () => 'requests'),
        workflow,
        outbox: { deliver: async () => {} },
        metrics: { count: () => {}, timing: () => {} },
        signer,
        mac: memoryMac(),
        clock,
        policy: memoryPolicy(config),
        publicUrl: 'https://bench.example.com',
      };
    };
    const setup = portsFor(dynamo);
    // The pending requests, a day old, spread over the teams; then a few in the last hour, the exported window.
    for (let i = 0; i < pending; i++) {
      time += 50;
      await askForAction(setup, { requester: AGENT, request: { action: `team${i % TEAMS}.deploy` }, callbackNetwork: 'public' });
    }
    time = now - 30 * 60_000;
    for (let i = 0; i < RECENT; i++) {
      time += 1000;
      await askForAction(setup, { requester: AGENT, request: { action: `team${i % TEAMS}.deploy` }, callbackNetwork: 'public' });
    }
    time = now;
    const rows: Figure[] = [];
    const row = (what: string, tally: { calls: number; items: number }, ms: number, extra = '') =>
      rows.push({ what: `${pending} pending: ${what}`, value: `${tally.calls} calls, ${tally.items} items read, ${ms.toFixed(0)} ms${extra}` });

    // Repair, before: the 500 oldest, each its item, its chain and a StartExecution.
    {
      const { client, tally } = counting(dynamo);
      const ports = portsFor(client);
      starts.calls = 0;
      const { ms } = await timed(async () => {
        for (const id of await oldListPending(client, 'requests', 500)) {
          await client.send(new GetCommand({ TableName: 'requests', Key: { id }, ConsistentRead: true }));
          const state = deriveState(await ports.ledger.read(id));
          if (state) await ports.workflow.start(state);
        }
      });
      row('repair run, before', { calls: tally.calls + starts.calls, items: tally.items }, ms, ` (${starts.calls} StartExecution)`);
    }
    // Repair, after: the first run takes every request's one look after intake; a run after that reads none.
    for (const which of ['first run (each request once in its life)', 'any later run']) {
      const { client, tally } = counting(dynamo);
      starts.calls = 0;
      const { ms } = await timed(() => repairPending(portsFor(client), { stopAt: Number.MAX_SAFE_INTEGER, graceMs: 60_000, onFailure: () => {} }));
      row(`repair run, after, ${which}`, { calls: tally.calls + starts.calls, items: tally.items }, ms, ` (${starts.calls} StartExecution)`);
    }

    // GET /v1/me/pending for an approver of one team in ten.
    {
      const { client, tally } = counting(dynamo);
      const ports = portsFor(client);
      const directory = ports.policy.directory();
      const { result, ms } = await timed(async () => {
        const ids = await oldListPending(client, 'requests', 200);
        const waiting = [];
        for (let i = 0; i < ids.length; i += 8) {
          for (const chain of await Promise.all(ids.slice(i, i + 8).map((id) => ports.ledger.read(id)))) {
            const state = deriveState(chain);
            if (state && awaitsVoteFrom(state, CALLER, clock.now(), directory)) waiting.push(state);
          }
        }
        return waiting;
      });
      row('GET /v1/me/pending, before', tally, ms, ` (answers ${result.length}: only the 200 oldest looked at)`);
    }
    {
      const { client, tally } = counting(dynamo);
      const { result, ms } = await timed(() => pendingFor(portsFor(client), CALLER));
      row('GET /v1/me/pending, after', tally, ms, ` (answers ${result.length})`);
    }

    // A windowed export of the last hour: every page of it.
    const since = new Date(now - 3_600_000).toISOString();
    const until = new Date(now).toISOString();
    {
      const { client, tally } = counting(dynamo);
      const { result, ms } = await timed(async () => {
        let items = 0;
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await client.send(
            new ScanCommand({
              TableName: 'ledger',
              Limit: 200,
              ExclusiveStartKey: startKey,
              FilterExpression:
                '(NOT begins_with(#rid, :cp) AND #at >= :since AND #at <= :until) OR (begins_with(#rid, :cp) AND #from >= :since AND #until <= :until)',
              ExpressionAttributeNames: { '#rid': 'requestId', '#at': 'at', '#from': 'from', '#until': 'until' },
              ExpressionAttributeValues: { ':cp': CHECKPOINT_PARTITION, ':since': since, ':until': until },
            }),
          );
          items += page.Items?.length ?? 0;
          startKey = page.LastEvaluatedKey;
        } while (startKey);
        return items;
      });
      row('export of the last hour, before', tally, ms, ` (returns ${result})`);
    }
    {
      const { client, tally } = counting(dynamo);
      const { result, ms } = await timed(async () => {
        let items = 0;
        let cursor: Awaited<ReturnType<typeof exportLedgerPage>>['next'];
        do {
          const page = await exportLedgerPage({ dynamo: client, tableName: 'ledger', since, until, cursor });
          items += page.items.length;
          cursor = page.next;
        } while (cursor);
        return items;
      });
      row('export of the last hour, after', tally, ms, ` (returns ${result})`);
    }
    return rows;
  } finally {
    raw.destroy();
    await closeServer(front);
    await closeServer(server);
  }
}

if (process.argv[1]?.endsWith('pending.ts')) {
  const sizes = process.argv.slice(2).map(Number).filter(Number.isFinite);
  pendingFigures(sizes.length ? { sizes } : {}).then((figures) => console.log(formatTable(figures)));
}
