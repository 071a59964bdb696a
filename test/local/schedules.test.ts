/**
 * Scheduled rules in local mode: the rate-expression parser, reading the template's rules, the timers (no overlap,
 * errors logged, never fatal), `POST /_local/schedules/run` end to end with the real checkpointer, and a data folder
 * from before the ledger's bySlot index, rebuilt with its items.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import { closeServer, listenLoopback } from '../../local/aws-json';
import { localBundles } from '../../local/bundles';
import type { CfnTemplate, LocalResourceNames } from '../../local/cfn';
import { LocalSchedules, parseRateExpression, type ScheduledRule, schedulesFromTemplate } from '../../local/schedules';
import { api, ROOT, sharedCountersign, startCountersign } from './harness';

describe('parseRateExpression', () => {
  it('reads EventBridge rate expressions as milliseconds', () => {
    expect(parseRateExpression('rate(1 minute)')).toBe(60_000);
    expect(parseRateExpression('rate(5 minutes)')).toBe(300_000);
    expect(parseRateExpression('rate(1 hour)')).toBe(3_600_000);
    expect(parseRateExpression('rate(12 hours)')).toBe(43_200_000);
    expect(parseRateExpression('rate(1 day)')).toBe(86_400_000);
    expect(parseRateExpression('rate(30 days)')).toBe(2_592_000_000);
  });

  it('refuses cron expressions, misspelt units and garbage', () => {
    for (const bad of [
      'cron(0/5 * * * ? *)',
      'rate(5 weeks)',
      'rate(0 minutes)',
      'rate(-1 minutes)',
      'rate(1.5 hours)',
      'rate(5minutes)',
      ' rate(5 minutes)',
      'rate(5 minutes',
      '',
      'every 5 minutes',
    ]) {
      expect(() => parseRateExpression(bad), bad).toThrow(/not supported in local mode: only rate\(N minute\|minutes\|hour\|hours\|day\|days\)/);
    }
  });

  it('refuses a unit whose number disagrees with the value, as EventBridge does', () => {
    expect(() => parseRateExpression('rate(1 minutes)')).toThrow('write rate(1 minute) or rate(N minutes)');
    expect(() => parseRateExpression('rate(5 hour)')).toThrow('write rate(1 hour) or rate(N hours)');
  });
});

describe('schedulesFromTemplate', () => {
  const names: LocalResourceNames = {
    ref: () => undefined,
    getAtt: (id, attribute) => (attribute === 'Arn' && id.startsWith('Fn') ? `arn:aws:lambda:us-east-1:000000000000:function:${id}` : undefined),
  };
  const functionIdOfArn = (arn: string) => {
    const id = arn.split(':').at(-1)!;
    if (id !== 'FnA' && id !== 'FnB') throw new Error(`local mode has no function for ${arn}`);
    return id;
  };
  const where = { region: 'us-east-1', account: '000000000000' };
  const rule = (props: Record<string, unknown>) => ({ Type: 'AWS::Events::Rule', Properties: props });
  const target = (id: string, extra: Record<string, unknown> = {}) => ({ Arn: { 'Fn::GetAtt': [id, 'Arn'] }, Id: 'Target0', ...extra });

  it('reads enabled rate rules and their function targets, skipping disabled and event-pattern rules', () => {
    const template: CfnTemplate = {
      Resources: {
        Every5: rule({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED', Targets: [target('FnA'), target('FnB', { Input: '{"a":1}' })] }),
        Hourly: rule({ ScheduleExpression: 'rate(1 hour)', Targets: [target('FnB')] }),
        Off: rule({ ScheduleExpression: 'cron(0 12 * * ? *)', State: 'DISABLED', Targets: [target('FnA')] }),
        Pattern: rule({ EventPattern: { source: ['aws.s3'] }, Targets: [target('FnA')] }),
        FnA: { Type: 'AWS::Lambda::Function' },
      },
    };
    expect(schedulesFromTemplate(template, names, functionIdOfArn, where)).toEqual([
      {
        ruleId: 'Every5',
        ruleArn: 'arn:aws:events:us-east-1:000000000000:rule/Every5',
        expression: 'rate(5 minutes)',
        everyMs: 300_000,
        targets: [{ functionId: 'FnA' }, { functionId: 'FnB', input: { a: 1 } }],
      },
      {
        ruleId: 'Hourly',
        ruleArn: 'arn:aws:events:us-east-1:000000000000:rule/Hourly',
        expression: 'rate(1 hour)',
        everyMs: 3_600_000,
        targets: [{ functionId: 'FnB' }],
      },
    ]);
  });

  it('refuses, naming the rule, a cron schedule or a target that is not a local function', () => {
    const cron: CfnTemplate = { Resources: { Nightly: rule({ ScheduleExpression: 'cron(0 3 * * ? *)', Targets: [target('FnA')] }) } };
    expect(() => schedulesFromTemplate(cron, names, functionIdOfArn, where)).toThrow(
      /^scheduled rule Nightly: schedule expression "cron\(0 3 \* \* \? \*\)" is not supported in local mode/,
    );
    const queue: CfnTemplate = { Resources: { ToQueue: rule({ ScheduleExpression: 'rate(1 day)', Targets: [target('Queue')] }) } };
    expect(() => schedulesFromTemplate(queue, names, functionIdOfArn, where)).toThrow(/^scheduled rule ToQueue: target 0 is not a local function/);
    const transformed: CfnTemplate = { Resources: { T: rule({ ScheduleExpression: 'rate(1 day)', Targets: [target('FnA', { InputTransformer: {} })] }) } };
    expect(() => schedulesFromTemplate(transformed, names, functionIdOfArn, where)).toThrow(/^scheduled rule T: target 0: InputPath and InputTransformer/);
  });
});

describe('LocalSchedules', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const rule = (everyMs: number, functionIds = ['FnA']): ScheduledRule => ({
    ruleId: 'Rule1',
    ruleArn: 'arn:aws:events:us-east-1:000000000000:rule/Rule1',
    expression: 'rate(1 minute)',
    everyMs,
    targets: functionIds.map((functionId) => ({ functionId })),
  });

  it('sends the scheduled event, never overlaps a running tick, and stops on stop()', async () => {
    const events: any[] = [];
    let active = 0;
    let most = 0;
    const schedules = new LocalSchedules({
      rules: [rule(20)],
      invoke: async (_id, event) => {
        events.push(event);
        most = Math.max(most, ++active);
        await sleep(90);
        active--;
      },
      log: { error: () => undefined },
      region: 'us-east-1',
      account: '000000000000',
    });
    schedules.start();
    await sleep(400);
    schedules.stop();
    const count = events.length;
    expect(most).toBe(1);
    // Ticks every 20 ms, each run 90 ms: the ticks during a run are skipped, not queued.
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(5);
    await sleep(200);
    expect(events.length).toBe(count);
    expect(events[0]).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/Rule1'],
      detail: {},
    });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('runs every target on demand after the running tick, and logs failures with the rule id without throwing', async () => {
    const order: string[] = [];
    const errors: string[] = [];
    const schedules = new LocalSchedules({
      rules: [rule(30, ['FnA', 'FnB'])],
      invoke: async (id) => {
        order.push(`start ${id}`);
        await sleep(60);
        order.push(`end ${id}`);
        if (id === 'FnB') throw new Error('boom');
      },
      log: { error: (m) => errors.push(m) },
      region: 'us-east-1',
      account: '000000000000',
    });
    schedules.start();
    await sleep(45); // a tick is running FnA
    const ran = await schedules.runAll();
    schedules.stop();
    expect(ran).toEqual([
      { rule: 'Rule1', function: 'FnA', ok: true },
      { rule: 'Rule1', function: 'FnB', ok: false, error: 'boom' },
    ]);
    // The on-demand run starts only after the tick's run (FnA then FnB) has ended.
    expect(order.slice(0, 8)).toEqual(['start FnA', 'end FnA', 'start FnB', 'end FnB', 'start FnA', 'end FnA', 'start FnB', 'end FnB']);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toBe('countersign: scheduled rule Rule1 failed in FnB: boom');
  });
});

describe('local mode schedules', () => {
  // The run's shared local mode: the scheduled jobs run over everyone's data, which is what they do anyway.
  const running = sharedCountersign();

  it('prints nothing more at start than its banner', () => {
    const lines = running.banner.trimEnd().split('\n');
    expect(lines).toHaveLength(9);
    for (const line of lines)
      expect(line).toMatch(/^(Countersign local mode is up in | {2}(API|inbox|health|config|data|functions|endpoints) |Press Ctrl-C to stop\.$)/);
  });

  it('runs the checkpointer rule on POST /_local/schedules/run', async () => {
    const first = await api(running.url, 'POST', '/_local/schedules/run');
    expect(first.status).toBe(200);
    expect(first.body.ran).toEqual(
      expect.arrayContaining([
        { rule: expect.stringMatching(/^CountersignCheckpointSchedule/), function: expect.stringMatching(/^CountersignCheckpointer/), ok: true },
        { rule: expect.stringMatching(/^CountersignRepairSchedule/), function: expect.stringMatching(/^CountersignRepairer/), ok: true },
      ]),
    );
    expect(first.body.ran).toHaveLength(2);
    // Again at once: the checkpointer finds its previous checkpoint and runs cleanly.
    const second = await api(running.url, 'POST', '/_local/schedules/run');
    expect(second.body.ran).toEqual(first.body.ran);
    expect(running.output()).not.toContain('scheduled rule');
    expect((await api(running.url, 'GET', '/_local/schedules/run')).status).toBe(404);
  });
});

describe('a data folder from before the ledger index', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-upgrade-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rebuilds the ledger table with the index and keeps every item', async () => {
    const dataDir = join(dir, 'data');
    // The template local mode runs for the default policy: the one its bundles were synthesized with (cached).
    const { template } = await localBundles(loadConfigFile(join(ROOT, 'countersign.config.yaml')));
    const [ledgerId, ledger] = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable' && JSON.stringify(r.Properties?.GlobalSecondaryIndexes ?? []).includes('bySlot'),
    )!;
    // The ledger table as an older version created it: the same keys, no index.
    const server = dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 0 });
    const endpoint = await listenLoopback(server);
    const dynamo = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await dynamo.send(
      new CreateTableCommand({
        TableName: ledgerId,
        KeySchema: ledger.Properties!.KeySchema as CreateTableCommandInput['KeySchema'],
        AttributeDefinitions: [
          { AttributeName: 'requestId', AttributeType: 'S' },
          { AttributeName: 'seq', AttributeType: 'N' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // dynalite answers CreateTable while the table is still CREATING; a write before it is ACTIVE is refused.
    await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: ledgerId });
    const items = Array.from({ length: 30 }, (_, i) => ({ requestId: { S: `act_old${i % 3}` }, seq: { N: String(i) }, type: { S: 'requested' } }));
    for (const Item of items) await dynamo.send(new PutItemCommand({ TableName: ledgerId, Item }));
    dynamo.destroy();
    await closeServer(server);

    const upgraded = await startCountersign({ dataDir });
    try {
      expect(upgraded.output()).toContain(`table ${ledgerId} gains index bySlot; rebuilding it with its 30 items`);
      const client = new DynamoDBClient({
        endpoint: upgraded.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const { Table } = await client.send(new DescribeTableCommand({ TableName: ledgerId }));
      expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['bySlot']);
      const { Items } = await client.send(new ScanCommand({ TableName: ledgerId }));
      expect(Items?.map((item) => `${item.requestId!.S}/${item.seq!.N}`).sort()).toEqual(items.map((item) => `${item.requestId.S}/${item.seq.N}`).sort());
      const { TableNames } = await client.send(new ListTablesCommand({}));
      expect(TableNames?.some((name) => name.endsWith('.rebuild'))).toBe(false);
      client.destroy();
    } finally {
      await upgraded.stop();
    }
  }, 120_000);
});
