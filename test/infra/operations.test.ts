/**
 * The stack's operations (lib/operations.ts): every alarm with its metric, threshold and actions, the SNS topic they
 * go to and who it emails, and the dashboard showing the same figures. Synthesized as the app is, without bundling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import type { Config } from '../../lambdas/core/config';
import { DIMENSION_VALUES, METRIC_NAMESPACE, METRICS } from '../../lambdas/core/metrics';
import { buildApp } from '../../lib/app';
import { Countersign, type CountersignFunctions } from '../../lib/countersign';
import { ALARM_PERIOD, ALARM_THRESHOLDS, allAlarms, FUNCTION_ERROR_THRESHOLDS, WATCHED_TABLE_OPERATIONS } from '../../lib/operations';

const ROOT = join(import.meta.dirname, '../..');
const config = loadConfigFile(join(ROOT, 'countersign.config.yaml'));
const withEmail = (alarmEmail: string | string[]): Config => ({ ...config, operations: { alarmEmail } });

type Resource = { Type: string; Properties: Record<string, any> };

function synthesize(cfg: Config = config) {
  const { stack } = buildApp({ config: cfg, bundle: false, nag: false });
  const template = Template.fromStack(stack);
  const json = template.toJSON() as { Resources: Record<string, Resource>; Outputs: Record<string, any> };
  return { stack, template, json };
}

/** A CloudFormation value with its references written as `<id>` (a Ref) or `<id.Attr>` (a GetAtt). */
function plain(value: any): any {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    if (value.Ref) return `<${value.Ref}>`;
    if (value['Fn::GetAtt']) return `<${value['Fn::GetAtt'].join('.')}>`;
    if (value['Fn::Join']) return (value['Fn::Join'][1] as unknown[]).map(plain).join(value['Fn::Join'][0]);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** One metric an alarm reads: namespace, name, dimensions (references as `<id>`), statistic and period in seconds. */
interface WatchedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly stat: string;
  readonly period: number;
}

const dims = (list: Array<{ Name: string; Value: unknown }> = []) => Object.fromEntries(list.map((d) => [d.Name, plain(d.Value)]));

/** What an alarm watches: one metric, or an expression over metrics by id. */
function watched(alarm: Resource): { expression?: string; metrics: Record<string, WatchedMetric> } {
  const p = alarm.Properties;
  if (!p.Metrics) {
    return {
      metrics: {
        m: { namespace: p.Namespace, name: p.MetricName, dimensions: dims(p.Dimensions), stat: p.Statistic ?? p.ExtendedStatistic, period: p.Period },
      },
    };
  }
  const queries = p.Metrics as any[];
  const returned = queries.filter((q) => q.ReturnData !== false);
  expect(returned).toHaveLength(1);
  const metrics = Object.fromEntries(
    queries
      .filter((q) => q.MetricStat)
      .map((q) => [
        q.Id,
        {
          namespace: q.MetricStat.Metric.Namespace,
          name: q.MetricStat.Metric.MetricName,
          dimensions: dims(q.MetricStat.Metric.Dimensions),
          stat: q.MetricStat.Stat,
          period: q.MetricStat.Period,
        },
      ]),
  );
  return { expression: returned[0].Expression, metrics };
}

describe('alarms', () => {
  const { stack, json } = synthesize(withEmail('oncall@example.com'));
  const resources = Object.entries(json.Resources);
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const alarms = new Map(ofType('AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties.AlarmName as string, r]));
  const alarm = (name: string) => {
    const found = alarms.get(`Countersign-${name}`);
    expect(found, `no alarm Countersign-${name}`).toBeDefined();
    return found!;
  };
  const { countersign } = stack;
  const fns = countersign.functions;
  const topicId = logicalId(countersign.operations.topic);
  const period = ALARM_PERIOD.toSeconds();
  const roles = Object.keys(fns) as Array<keyof CountersignFunctions>;
  const capitalized = (role: string) => role.charAt(0).toUpperCase() + role.slice(1);
  const sumOfFilled = (count: number) => Array.from({ length: count }, (_, i) => `FILL(m${i}, 0)`).join(' + ');
  const countersign$ = (name: string, dimensions: Record<string, string> = {}, stat = 'Sum', seconds = period): WatchedMetric => ({
    namespace: METRIC_NAMESPACE,
    name,
    dimensions,
    stat,
    period: seconds,
  });

  it('are the sixteen the runbook describes, each named, described and pointing at the runbook', () => {
    const names = [
      'WorkflowFailed',
      ...roles.map((role) => `${capitalized(role)}Errors`),
      'FunctionThrottles',
      'Api5xxRate',
      'NotificationsFailed',
      'NoCheckpoint',
      'RepairActing',
      'RequestsTableThrottled',
      'LedgerTableThrottled',
      'KmsFailures',
    ];
    expect([...alarms.keys()].sort()).toEqual(names.map((n) => `Countersign-${n}`).sort());
    expect(allAlarms(countersign.operations.alarms)).toHaveLength(16);
    for (const [name, resource] of alarms) {
      expect(resource.Properties.AlarmDescription.length, name).toBeGreaterThan(60);
      expect(resource.Properties.AlarmDescription).toContain(`Runbook: README.md, "Operations", "${name.replace('Countersign-', '')}"`);
    }
  });

  it('each send their alarm and their return to OK to the topic, and nothing else', () => {
    for (const [name, resource] of alarms) {
      expect(plain(resource.Properties.AlarmActions), name).toEqual([`<${topicId}>`]);
      expect(plain(resource.Properties.OKActions), name).toEqual([`<${topicId}>`]);
      expect(resource.Properties.InsufficientDataActions, name).toBeUndefined();
      expect(resource.Properties.EvaluationPeriods, name).toBe(1);
      expect(resource.Properties.DatapointsToAlarm, name).toBe(1);
    }
  });

  it('watch failed and timed-out workflow executions', () => {
    const a = alarm('WorkflowFailed');
    const machine = `<${logicalId(countersign.workflow.stateMachine)}>`;
    expect(watched(a)).toEqual({
      expression: 'FILL(m0, 0) + FILL(m1, 0)',
      metrics: {
        m0: { namespace: 'AWS/States', name: 'ExecutionsFailed', dimensions: { StateMachineArn: machine }, stat: 'Sum', period },
        m1: { namespace: 'AWS/States', name: 'ExecutionsTimedOut', dimensions: { StateMachineArn: machine }, stat: 'Sum', period },
      },
    });
    expect(a.Properties).toMatchObject({
      Threshold: ALARM_THRESHOLDS.workflowFailures,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("watch every function's errors, each against its own threshold, and all functions' throttles", () => {
    expect(FUNCTION_ERROR_THRESHOLDS.intake).toBe(1);
    for (const role of roles) {
      const a = alarm(`${capitalized(role)}Errors`);
      expect(watched(a), role).toEqual({
        metrics: { m: { namespace: 'AWS/Lambda', name: 'Errors', dimensions: { FunctionName: `<${logicalId(fns[role])}>` }, stat: 'Sum', period } },
      });
      expect(a.Properties, role).toMatchObject({
        Threshold: FUNCTION_ERROR_THRESHOLDS[role],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    const throttles = alarm('FunctionThrottles');
    const { expression, metrics } = watched(throttles);
    expect(expression).toBe(sumOfFilled(roles.length));
    expect(Object.values(metrics)).toEqual(
      roles.map((role) => ({ namespace: 'AWS/Lambda', name: 'Throttles', dimensions: { FunctionName: `<${logicalId(fns[role])}>` }, stat: 'Sum', period })),
    );
    expect(throttles.Properties).toMatchObject({ Threshold: ALARM_THRESHOLDS.functionThrottles, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  it("watch the API's 5xx answers as a share of its requests", () => {
    const a = alarm('Api5xxRate');
    const api = `<${logicalId(countersign.api.httpApi)}>`;
    expect(watched(a)).toEqual({
      expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
      metrics: {
        errors: { namespace: 'AWS/ApiGateway', name: '5xx', dimensions: { ApiId: api }, stat: 'Sum', period },
        requests: { namespace: 'AWS/ApiGateway', name: 'Count', dimensions: { ApiId: api }, stat: 'Sum', period },
      },
    });
    expect(a.Properties).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
  });

  it('watch the totals of the Countersign metrics, by their catalogue names', () => {
    const expectations: Array<[string, WatchedMetric, number, string, string]> = [
      [
        'NotificationsFailed',
        countersign$(METRICS.notificationsFailed.name),
        ALARM_THRESHOLDS.notificationFailures,
        'GreaterThanOrEqualToThreshold',
        'notBreaching',
      ],
      ['RepairActing', countersign$(METRICS.repairActions.name), ALARM_THRESHOLDS.repairActions, 'GreaterThanOrEqualToThreshold', 'notBreaching'],
      // Silence is the failure: no checkpoint at all pages, so missing data breaches.
      ['NoCheckpoint', countersign$(METRICS.checkpointsWritten.name, {}, 'Sum', 900), 1, 'LessThanThreshold', 'breaching'],
      // AWS/KMS has no per-key error metric for Sign or GenerateMac: the functions count their failed KMS calls.
      [
        'KmsFailures',
        countersign$(METRICS.dependencyFailures.name, { Service: 'kms' }),
        ALARM_THRESHOLDS.kmsFailures,
        'GreaterThanOrEqualToThreshold',
        'notBreaching',
      ],
    ];
    for (const [name, metric, threshold, comparison, missing] of expectations) {
      const a = alarm(name);
      expect(watched(a), name).toEqual({ metrics: { m: metric } });
      expect(a.Properties, name).toMatchObject({ Threshold: threshold, ComparisonOperator: comparison, TreatMissingData: missing });
    }
    expect(DIMENSION_VALUES.Service).toContain('kms');
    expect(METRICS.dependencyFailures.dimensions).toContain('Service');
  });

  it("watch both tables' throttled requests, for every operation the functions call", () => {
    for (const [name, table] of [
      ['RequestsTableThrottled', countersign.requests.table],
      ['LedgerTableThrottled', countersign.ledger.table],
    ] as const) {
      const a = alarm(name);
      const { expression, metrics } = watched(a);
      // A metric math alarm takes at most ten metrics.
      expect(Object.keys(metrics).length).toBeLessThanOrEqual(10);
      expect(expression).toBe(sumOfFilled(WATCHED_TABLE_OPERATIONS.length));
      expect(Object.values(metrics)).toEqual(
        WATCHED_TABLE_OPERATIONS.map((operation) => ({
          namespace: 'AWS/DynamoDB',
          name: 'ThrottledRequests',
          dimensions: { TableName: `<${logicalId(table)}>`, Operation: operation },
          stat: 'Sum',
          period,
        })),
      );
      expect(a.Properties, name).toMatchObject({ Threshold: ALARM_THRESHOLDS.dynamoDbThrottles, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    }
    expect(WATCHED_TABLE_OPERATIONS).toEqual(['GetItem', 'PutItem', 'UpdateItem', 'Query', 'Scan', 'BatchGetItem', 'TransactWriteItems']);
  });

  it('name the alarm topic, the dashboard, the log groups and the workflow as outputs', () => {
    expect(plain(json.Outputs.FunctionLogGroups.Value)).toBe(
      roles.map((role) => `<${stack.getLogicalId(fns[role].logGroup.node.defaultChild as never)}>`).join(' '),
    );
    expect(plain(json.Outputs.StateMachineArn.Value)).toBe(`<${logicalId(countersign.workflow.stateMachine)}>`);
    expect(plain(json.Outputs.AlarmTopicArn.Value)).toBe(`<${topicId}>`);
    const dashboard = stack.getLogicalId(countersign.operations.dashboard.node.defaultChild as never);
    expect(plain(json.Outputs.DashboardUrl.Value)).toBe(
      `https://<AWS::Region>.console.aws.amazon.com/cloudwatch/home?region=<AWS::Region>#dashboards/dashboard/<${dashboard}>`,
    );
  });
});

describe('the alarm topic', () => {
  it('emails each configured address once, and nobody when none is configured', () => {
    const subscriptions = (cfg: Config) =>
      Object.values(synthesize(cfg).json.Resources)
        .filter((r) => r.Type === 'AWS::SNS::Subscription')
        .map((r) => ({ protocol: r.Properties.Protocol, endpoint: r.Properties.Endpoint }));
    expect(subscriptions(withEmail('oncall@example.com'))).toEqual([{ protocol: 'email', endpoint: 'oncall@example.com' }]);
    expect(subscriptions(withEmail(['oncall@example.com', 'ops@example.com', 'OPS@example.com']))).toEqual([
      { protocol: 'email', endpoint: 'oncall@example.com' },
      { protocol: 'email', endpoint: 'ops@example.com' },
    ]);
    expect(subscriptions(config)).toEqual([]);
    // The topic is there either way: a pager or a chat integration can subscribe to it.
    synthesize(config).template.resourceCountIs('AWS::SNS::Topic', 1);
  });

  it("takes SSL only, and publishes from this deployment's alarms only", () => {
    const { template, stack } = synthesize();
    const topic = `<${stack.getLogicalId(stack.countersign.operations.topic.node.defaultChild as never)}>`;
    const policies = Object.values(template.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    const statements = plain(policies[0]!.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Resource: topic,
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topic,
        Condition: {
          StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>' },
          ArnLike: { 'aws:SourceArn': 'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:Countersign-*' },
        },
      }),
    );
    // Every alarm's name fits the pattern the topic lets publish.
    for (const r of Object.values(template.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm')) {
      expect(r.Properties.AlarmName).toMatch(/^Countersign-/);
    }
  });
});

describe('the dashboard', () => {
  const { stack, json } = synthesize();
  const dashboards = Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  const body = JSON.parse(plain(dashboards[0]!.Properties.DashboardBody)) as { widgets: Array<{ type: string; properties: any }> };
  const widgets = body.widgets;
  const titled = (title: string) => {
    const found = widgets.find((w) => w.properties.title === title);
    expect(found, `no widget "${title}"`).toBeDefined();
    return found!;
  };
  const metricNames = (widget: { properties: any }) => JSON.stringify(widget.properties.metrics ?? widget.properties.annotations ?? []);

  it('is one dashboard, named after the stack', () => {
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.Properties.DashboardName).toBe('Countersign');
  });

  it('has a section for each area: traffic, outcomes and time to decision, channels, ledger, errors', () => {
    const headings = widgets.filter((w) => w.type === 'text').map((w) => w.properties.markdown);
    expect(headings).toEqual(['## Traffic', '## Outcomes and time to decision', '## Channel health', '## Ledger and checkpoints', '## Errors']);
  });

  it("shows every alarm's state, and the figure of each alarm as the alarm sees it", () => {
    const status = widgets.find((w) => w.type === 'alarm');
    expect(status?.properties.alarms).toHaveLength(16);
    const alarmArns = widgets.filter((w) => w.properties.annotations?.alarms).flatMap((w) => w.properties.annotations.alarms as string[]);
    for (const watched of [
      stack.countersign.operations.alarms.api5xxRate,
      stack.countersign.operations.alarms.notificationsFailed,
      stack.countersign.operations.alarms.noCheckpoint,
      stack.countersign.operations.alarms.repairActing,
      stack.countersign.operations.alarms.functionThrottles,
      stack.countersign.operations.alarms.workflowFailed,
      stack.countersign.operations.alarms.kmsFailures,
      stack.countersign.operations.alarms.requestsTableThrottled,
      stack.countersign.operations.alarms.ledgerTableThrottled,
    ]) {
      const id = stack.getLogicalId(watched.node.defaultChild as never);
      expect(alarmArns, id).toContain(`<${id}.Arn>`);
    }
  });

  it('graphs every metric of the catalogue, split where the dashboard promises it', () => {
    const text = JSON.stringify(body);
    // By name, or inside a search expression (quoted there, so escaped in the body's JSON).
    for (const definition of Object.values(METRICS)) expect(text, definition.name).toMatch(new RegExp(`\\\\?"${definition.name}\\\\?"`));
    // Traffic: requests by effect (and rule), answers by route and status class.
    expect(metricNames(titled('Requests by effect and rule'))).toContain(`SEARCH('{Countersign,Effect,Rule} MetricName=\\"Requests\\"', 'Sum', 300)`);
    expect(metricNames(titled('Shadow rules: would-be effect by rule'))).toContain(
      `SEARCH('{Countersign,Rule,Effect} MetricName=\\"ShadowDecisions\\"', 'Sum', 300)`,
    );
    expect(metricNames(titled('API answers by route and status class'))).toContain(
      `SEARCH('{Countersign,Route,StatusClass} MetricName=\\"HttpResponses\\"', 'Sum', 300)`,
    );
    // Outcomes by each outcome; time to decision at p50 and p90.
    for (const outcome of DIMENSION_VALUES.Outcome) expect(metricNames(titled('Decisions by outcome'))).toContain(`"Outcome","${outcome}"`);
    for (const result of DIMENSION_VALUES.Result) expect(metricNames(titled('Redemptions by result'))).toContain(`"Redemptions","Result","${result}"`);
    expect(metricNames(titled('Time to decision (ms)'))).toMatch(/"TimeToDecision".*"stat":"p50".*"TimeToDecision".*"stat":"p90"/);
    // Channels: sent and failed, by each channel.
    for (const channel of DIMENSION_VALUES.Channel) {
      expect(metricNames(titled('Notifications sent by channel'))).toContain(`"NotificationsSent","Channel","${channel}"`);
      expect(metricNames(titled('Notifications failed by channel'))).toContain(`"NotificationsFailed","Channel","${channel}"`);
    }
    // Ledger: checkpoint lag at its worst.
    expect(metricNames(titled('Checkpoint lag (s)'))).toMatch(/"CheckpointLag".*"stat":"Maximum"/);
    // Errors: every function, every dependency.
    const errors = metricNames(titled('Function errors'));
    for (const fn of Object.values(stack.countersign.functions)) expect(errors).toContain(`<${stack.getLogicalId(fn.node.defaultChild as never)}>`);
    for (const service of DIMENSION_VALUES.Service) expect(metricNames(titled('Dependency failures by service'))).toContain(`"Service","${service}"`);
  });

  it("queries the functions' error lines with their correlation ids", () => {
    const logs = widgets.find((w) => w.type === 'log');
    expect(logs?.properties.query).toContain('correlation_id');
    expect(logs?.properties.query).toContain('filter level = "ERROR"');
    for (const fn of Object.values(stack.countersign.functions)) {
      expect(logs?.properties.query).toContain(`SOURCE '<${stack.getLogicalId(fn.logGroup.node.defaultChild as never)}>'`);
    }
  });

  it('synthesizes without warnings from the CloudWatch constructs', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('.*'));
    expect(warnings.map((w) => `${w.id}: ${JSON.stringify(w.entry.data)}`)).toEqual([]);
  });
});

describe('the checkpoint alarm', () => {
  it('waits three checkpoint runs when the checkpointer runs less often than every five minutes', () => {
    const app = new App();
    const stack = new Stack(app, 'Slow');
    new Countersign(stack, 'Countersign', { config, checkpointInterval: Duration.minutes(10) });
    const alarm = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, Resource>).find(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === 'Slow-NoCheckpoint',
    );
    expect(alarm?.Properties).toMatchObject({ MetricName: 'CheckpointsWritten', Period: 1800, Threshold: 1, TreatMissingData: 'breaching' });
    expect(alarm?.Properties.AlarmDescription).toContain('No ledger checkpoint was written for 30 minutes');
  });
});

describe('cdk-nag', () => {
  it('passes with an alarm email, acknowledging only the unencrypted alarm topic, with its reason', () => {
    const { app, stack } = buildApp({
      config: withEmail(['oncall@example.com', 'ops@example.com']),
      bundle: false,
      outdir: mkdtempSync(join(tmpdir(), 'cs-ops-nag-')),
    });
    const assembly = app.synth();
    rmSync(assembly.directory, { recursive: true, force: true });
    const acknowledged = stack.countersign.operations.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.keys(m.data as Record<string, string>));
    expect(acknowledged.map((id) => id.replace(/^Annotation::/, ''))).toEqual(['AwsSolutions-SNS2']);
  });
});
