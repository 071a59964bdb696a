import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  AlarmWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  type IWidget,
  LogQueryWidget,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DIMENSION_VALUES, METRIC_NAMESPACE, METRICS, type MetricKey } from '../lambdas/core/metrics';
import type { CountersignFunctions } from './countersign';

/**
 * The window every alarm sums over, unless it says otherwise: short enough that a page arrives while the requests
 * it concerns are still pending (timeouts are an hour by default), long enough to hold a few data points of the
 * five-minute and one-minute schedules.
 */
export const ALARM_PERIOD = Duration.minutes(5);

/**
 * The thresholds, each with its reason. Counts are sums over `ALARM_PERIOD`; an alarm fires when its figure reaches
 * the threshold (`>=`), except the checkpoint alarm, which fires below it.
 */
export const ALARM_THRESHOLDS = {
  /**
   * Workflow executions failed or timed out. The workflow catches every error into Expire and retries Finalize and
   * Expire ten times over minutes, so an execution that still fails is a request whose outcome may be unrecorded or
   * untold (the repair job picks it up, but someone should know why): one is a fault.
   */
  workflowFailures: 1,
  /**
   * Throttled invocations, all functions together. A throttled API function answers 500 and a throttled workflow
   * step spends a retry; any at all means the account's concurrency (10 in a new account) is exhausted.
   */
  functionThrottles: 1,
  /**
   * Percent of the API's answers that are 5xx. The functions answer their own errors as 4xx; a 5xx is an internal
   * error, a dependency that failed after retries (503 `unavailable`), or API Gateway's own 500/503 for a function
   * that failed or timed out. At Countersign's volume even one is an agent's action stalled, so at low traffic a
   * single 5xx crosses 5 % on purpose; at high traffic the rate keeps one transient 5xx from paging.
   */
  api5xxPercent: 5,
  /**
   * Notification attempts that failed (counted per attempt of Notify). Each is an approver (or a channel) not asked, and a
   * request nobody is asked expires: one is worth a look (an expired token, SES sandbox, a removed webhook).
   */
  notificationFailures: 1,
  /**
   * Checkpoints written within `CHECKPOINT_SILENCE`: fewer than one is silence. The checkpointer writes at least one
   * checkpoint every run, even over no records, so a missing checkpoint always means something.
   */
  checkpointsWritten: 1,
  /**
   * Repair actions. The repair job acts only when a failure left something half-done (a workflow never started, an
   * outcome never told, an expiry missed): one means a failure happened, even though it is now mended.
   */
  repairActions: 1,
  /**
   * Throttled DynamoDB requests, per table. The tables are on-demand: at Countersign's traffic they should never
   * throttle, so one means a hot partition or a throughput limit, and after the SDK's own retries a 503 or a
   * workflow retry.
   */
  dynamoDbThrottles: 1,
  /**
   * Failed KMS calls (Sign, GenerateMac, Verify, GetPublicKey), as the functions count them. Without KMS no ledger
   * record is signed and no review link is made or checked: one is a fault (a disabled key, a changed key policy,
   * throttling).
   */
  kmsFailures: 1,
} as const;

/**
 * How long without a checkpoint before the ledger alarm fires: three missed runs of the default five-minute schedule
 * (one late run is not a page). A longer `checkpointInterval` stretches it to three of its runs.
 */
export const CHECKPOINT_SILENCE = Duration.minutes(15);

/**
 * Lambda errors (the function threw, timed out or ran out of memory) per function in `ALARM_PERIOD`. The API and
 * scheduled functions answer or log their own failures, so an error is a bug or an outage: one is a fault. The two
 * workflow functions also raise errors on purpose, for the workflow to act on:
 * - the notifier raises `Countersign.AlreadySettled` when a request was settled (cancelled at once) before Notify
 *   ran: a few in five minutes are normal, three is not.
 * - the finalizer raises one error per failed try of a requester's callback (vetted at intake, retried five times,
 *   so one unreachable callback is six errors in under three minutes); that failure is the requester's, counted by
 *   `CallbackFailures`, so only more than one request's worth pages.
 */
export const FUNCTION_ERROR_THRESHOLDS = {
  intake: 1,
  decision: 1,
  console: 1,
  checkpointer: 1,
  repairer: 1,
  notifier: 3,
  finalizer: 7,
} as const satisfies Record<keyof CountersignFunctions, number>;

/**
 * The DynamoDB operations the functions call (lambdas/adapters), whose throttling the table alarms watch: a metric
 * math alarm takes at most ten metrics, so the list is what the code uses, not every operation DynamoDB has.
 */
export const WATCHED_TABLE_OPERATIONS = [
  Operation.GET_ITEM,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.QUERY,
  Operation.SCAN,
  Operation.BATCH_GET_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
] as const;

/** Where the runbook for every alarm is. */
const RUNBOOK = 'Runbook: README.md, "Operations"';

export interface CountersignOperationsProps {
  /** The functions whose errors and throttles are watched, by role. */
  readonly functions: CountersignFunctions;
  /** The approval workflow. */
  readonly stateMachine: IStateMachine;
  /** The HTTP API. */
  readonly httpApi: IHttpApi;
  /** The tables whose throttling is watched. */
  readonly tables: { readonly requests: TableV2; readonly ledger: TableV2 };
  /**
   * Email addresses subscribed to the alarm topic. SNS mails each a confirmation first: nothing is delivered to an
   * address until its owner confirms. @default none: the topic has no subscriber (subscribe a pager or chat to it)
   */
  readonly alarmEmails?: readonly string[];
  /** How often the checkpointer runs, which stretches the checkpoint alarm's window. @default Duration.minutes(5) */
  readonly checkpointInterval?: Duration;
  /** Every alarm's name starts with this and a hyphen. @default the stack's name */
  readonly alarmNamePrefix?: string;
  /** The dashboard's name. @default the alarm name prefix */
  readonly dashboardName?: string;
}

/** Countersign's alarms, by what they watch. */
export interface CountersignAlarms {
  readonly workflowFailed: Alarm;
  readonly functionErrors: { readonly [K in keyof CountersignFunctions]: Alarm };
  readonly functionThrottles: Alarm;
  readonly api5xxRate: Alarm;
  readonly notificationsFailed: Alarm;
  readonly noCheckpoint: Alarm;
  readonly repairActing: Alarm;
  readonly requestsTableThrottled: Alarm;
  readonly ledgerTableThrottled: Alarm;
  readonly kmsFailures: Alarm;
}

/** A Countersign metric from the catalogue (lambdas/core/metrics.ts): the total, or one split by its dimensions. */
export function countersignMetric(
  key: MetricKey,
  options: { readonly dimensions?: Readonly<Record<string, string>>; readonly statistic?: string; readonly period?: Duration; readonly label?: string } = {},
): Metric {
  const definition = METRICS[key];
  const dimensions = options.dimensions ?? {};
  for (const name of Object.keys(dimensions)) {
    if (!(definition.dimensions as readonly string[]).includes(name)) throw new Error(`metric ${definition.name} has no dimension ${name}`);
  }
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName: definition.name,
    dimensionsMap: { ...dimensions },
    statistic: options.statistic ?? Stats.SUM,
    period: options.period ?? ALARM_PERIOD,
    ...(options.label ? { label: options.label } : {}),
  });
}

/** The sum of several metrics, each read as 0 where it has no data point (a plain `a + b` is missing if one is). */
function sumOf(metrics: readonly IMetric[], label: string, period: Duration = ALARM_PERIOD): MathExpression {
  const usingMetrics = Object.fromEntries(metrics.map((metric, index) => [`m${index}`, metric]));
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label,
    period,
  });
}

/** A dashboard graph of every series a metric search finds (a dimension's values that the config sets, e.g. rules). */
function search(key: MetricKey, dimensions: readonly string[], statistic: string, label: string): MathExpression {
  const schema = [METRIC_NAMESPACE, ...dimensions].join(',');
  return new MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${METRICS[key].name}"', '${statistic}', ${ALARM_PERIOD.toSeconds()})`,
    usingMetrics: {},
    label,
    period: ALARM_PERIOD,
  });
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * What an on-call engineer needs to trust Countersign: alarms on every way it can fail quietly, sent to one SNS
 * topic (emailed to `alarmEmails`, each of whom must confirm the subscription), and a dashboard of the same figures.
 * The Countersign metrics are the ones the functions publish in CloudWatch embedded metric format
 * (lambdas/core/metrics.ts), each also without dimensions, which is the total the alarms watch.
 */
export class CountersignOperations extends Construct {
  /** Where every alarm (and its return to OK) is sent. */
  readonly topic: Topic;
  readonly alarms: CountersignAlarms;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: CountersignOperationsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.alarmNamePrefix ?? stack.stackName;

    this.topic = new Topic(this, 'AlarmTopic', { displayName: `${prefix} alarms`, enforceSSL: true });
    // CloudWatch publishes the alarms; the topic policy (which enforceSSL makes) must allow it, and only for this
    // account's alarms of this deployment (no confused deputy).
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${prefix}-*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names, states and metric values, never request data or secrets. CloudWatch cannot publish to a topic under the AWS-managed SNS key, and a customer-managed key policy that is wrong drops every alarm silently: the topic is unencrypted at rest and SSL-only in transit.',
    });
    const seen = new Set<string>();
    for (const address of props.alarmEmails ?? []) {
      if (seen.has(address.toLowerCase())) continue;
      seen.add(address.toLowerCase());
      this.topic.addSubscription(new EmailSubscription(address));
    }
    const action = new SnsAction(this.topic);

    const alarm = (
      alarmId: string,
      settings: {
        readonly metric: IMetric;
        readonly threshold: number;
        readonly description: string;
        readonly comparison?: ComparisonOperator;
        readonly missing?: TreatMissingData;
      },
    ): Alarm => {
      const created = new Alarm(this, alarmId, {
        alarmName: `${prefix}-${alarmId}`,
        alarmDescription: `${settings.description} ${RUNBOOK}, "${alarmId}".`,
        metric: settings.metric,
        threshold: settings.threshold,
        comparisonOperator: settings.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // Counts are published only when something happens: no data is nothing wrong.
        treatMissingData: settings.missing ?? TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      return created;
    };

    const { functions, stateMachine, httpApi, tables } = props;
    const roles = Object.keys(functions) as Array<keyof CountersignFunctions>;
    const workflowFailed = alarm('WorkflowFailed', {
      metric: sumOf(
        [stateMachine.metricFailed({ period: ALARM_PERIOD }), stateMachine.metricTimedOut({ period: ALARM_PERIOD })],
        'Executions failed or timed out',
      ),
      threshold: ALARM_THRESHOLDS.workflowFailures,
      description: 'Approval workflow executions failed or timed out: a request may have no recorded or told outcome.',
    });
    const functionErrors = Object.fromEntries(
      roles.map((role) => [
        role,
        alarm(`${capitalized(role)}Errors`, {
          metric: functions[role].metricErrors({ period: ALARM_PERIOD }),
          threshold: FUNCTION_ERROR_THRESHOLDS[role],
          description: `The ${role} function failed (threw, timed out or ran out of memory) ${FUNCTION_ERROR_THRESHOLDS[role]} or more times in 5 minutes.`,
        }),
      ]),
    ) as { [K in keyof CountersignFunctions]: Alarm };
    const functionThrottles = alarm('FunctionThrottles', {
      metric: sumOf(
        roles.map((role) => functions[role].metricThrottles({ period: ALARM_PERIOD })),
        'Throttled invocations, all functions',
      ),
      threshold: ALARM_THRESHOLDS.functionThrottles,
      description: "Countersign's functions were throttled: the account's Lambda concurrency is exhausted.",
    });
    const apiErrors = httpApi.metricServerError({ period: ALARM_PERIOD, statistic: Stats.SUM });
    const apiRequests = httpApi.metricCount({ period: ALARM_PERIOD, statistic: Stats.SUM });
    const api5xxRate = alarm('Api5xxRate', {
      metric: new MathExpression({
        expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
        usingMetrics: { errors: apiErrors, requests: apiRequests },
        label: '5xx answers, % of requests',
        period: ALARM_PERIOD,
      }),
      threshold: ALARM_THRESHOLDS.api5xxPercent,
      description: `${ALARM_THRESHOLDS.api5xxPercent} % or more of the API's answers in 5 minutes were 5xx.`,
    });
    const notificationsFailed = alarm('NotificationsFailed', {
      metric: countersignMetric('notificationsFailed'),
      threshold: ALARM_THRESHOLDS.notificationFailures,
      description: 'Notification attempts failed: approvers may not have been asked.',
    });
    const interval = props.checkpointInterval ?? Duration.minutes(5);
    const silence = Duration.seconds(Math.max(CHECKPOINT_SILENCE.toSeconds(), 3 * interval.toSeconds()));
    const noCheckpoint = alarm('NoCheckpoint', {
      metric: countersignMetric('checkpointsWritten', { period: silence }),
      threshold: ALARM_THRESHOLDS.checkpointsWritten,
      comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
      // Silence is the failure: no data point at all (the checkpointer not running) must page.
      missing: TreatMissingData.BREACHING,
      description: `No ledger checkpoint was written for ${silence.toHumanString()}: the ledger is not being sealed.`,
    });
    const repairActing = alarm('RepairActing', {
      metric: countersignMetric('repairActions'),
      threshold: ALARM_THRESHOLDS.repairActions,
      description: 'The repair job completed something a failure left half-done: find the failure.',
    });
    const tableThrottled = (alarmId: string, table: TableV2, name: string) =>
      alarm(alarmId, {
        metric: sumOf(
          WATCHED_TABLE_OPERATIONS.map((operation) =>
            table.metric('ThrottledRequests', {
              dimensionsMap: { TableName: table.tableName, Operation: operation },
              statistic: Stats.SUM,
              period: ALARM_PERIOD,
            }),
          ),
          `Throttled requests, ${name} table`,
        ),
        threshold: ALARM_THRESHOLDS.dynamoDbThrottles,
        description: `DynamoDB throttled requests to the ${name} table.`,
      });
    const requestsTableThrottled = tableThrottled('RequestsTableThrottled', tables.requests, 'requests');
    const ledgerTableThrottled = tableThrottled('LedgerTableThrottled', tables.ledger, 'ledger');
    // AWS/KMS publishes no error or throttle metric per key for Sign or GenerateMac; a failed call is seen only by
    // its caller, so the functions count it as DependencyFailures with Service=kms.
    const kmsFailures = alarm('KmsFailures', {
      metric: countersignMetric('dependencyFailures', { dimensions: { Service: 'kms' } }),
      threshold: ALARM_THRESHOLDS.kmsFailures,
      description: 'Calls to KMS failed (signing ledger records, review links and sessions).',
    });
    this.alarms = {
      workflowFailed,
      functionErrors,
      functionThrottles,
      api5xxRate,
      notificationsFailed,
      noCheckpoint,
      repairActing,
      requestsTableThrottled,
      ledgerTableThrottled,
      kmsFailures,
    };

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? prefix,
      defaultInterval: Duration.hours(3),
    });
    const heading = (text: string) => new TextWidget({ markdown: `## ${text}`, width: 24, height: 1 });
    const graph = (title: string, left: IMetric[], extra: { right?: IMetric[]; width?: number; stacked?: boolean } = {}) =>
      new GraphWidget({ title, left, ...(extra.right ? { right: extra.right } : {}), width: extra.width ?? 8, height: 6, stacked: extra.stacked ?? false });
    const alarmGraph = (watched: Alarm, title: string, width = 8) => new AlarmWidget({ alarm: watched, title, width, height: 6 });
    const byValue = (key: MetricKey, dimension: keyof typeof DIMENSION_VALUES, statistic: string = Stats.SUM) =>
      DIMENSION_VALUES[dimension].map((value) => countersignMetric(key, { dimensions: { [dimension]: value }, statistic, label: value }));
    const rows: IWidget[][] = [
      [new AlarmStatusWidget({ title: 'Alarms', alarms: allAlarms(this.alarms), width: 24, height: 4 })],
      [heading('Traffic')],
      [
        graph('Requests by effect and rule', [search('requests', ['Effect', 'Rule'], 'Sum', '')], { stacked: true }),
        graph('API answers by route and status class', [search('httpResponses', ['Route', 'StatusClass'], 'Sum', '')]),
        alarmGraph(api5xxRate, 'API 5xx, % of requests'),
      ],
      // Rules on trial (`mode: shadow`): what they would have done to the same traffic.
      [graph('Shadow rules: would-be effect by rule', [search('shadowDecisions', ['Rule', 'Effect'], 'Sum', '')], { width: 24, stacked: true })],
      [heading('Outcomes and time to decision')],
      [
        graph('Decisions by outcome', byValue('decisions', 'Outcome'), { stacked: true }),
        graph('Time to decision (ms)', [
          countersignMetric('timeToDecision', { statistic: Stats.p(50), label: 'p50' }),
          countersignMetric('timeToDecision', { statistic: Stats.p(90), label: 'p90' }),
        ]),
        graph('Reminders, escalations, expiries', [countersignMetric('reminders'), countersignMetric('escalations'), countersignMetric('expiries')]),
      ],
      // At most once: approvals redeemed, redemptions refused (a replay is `already_redeemed`), approvals lapsed.
      [graph('Redemptions by result', byValue('redemptions', 'Result'), { width: 24, stacked: true })],
      [heading('Channel health')],
      [
        graph('Notifications sent by channel', byValue('notificationsSent', 'Channel'), { stacked: true }),
        graph('Notifications failed by channel', byValue('notificationsFailed', 'Channel'), { stacked: true }),
        alarmGraph(notificationsFailed, 'Notifications failed (alarm)'),
      ],
      [
        graph('Callback failures', [countersignMetric('callbackFailures')], { width: 12 }),
        graph('Grants made, used and revoked', byValue('grantEvents', 'Event'), { width: 12, stacked: true }),
      ],
      [heading('Ledger and checkpoints')],
      [
        alarmGraph(noCheckpoint, 'Checkpoints written (alarm)'),
        graph('Checkpoint lag (s)', [countersignMetric('checkpointLag', { statistic: Stats.MAXIMUM, label: 'max' })]),
        alarmGraph(repairActing, 'Repair actions (alarm)'),
      ],
      [
        graph('Checkpoints written, every 5 minutes', [countersignMetric('checkpointsWritten', { label: 'checkpoints' })], { width: 12 }),
        graph('Repair actions by kind', byValue('repairActions', 'Kind'), { width: 12, stacked: true }),
      ],
      [heading('Errors')],
      [
        graph(
          'Function errors',
          roles.map((role) => functions[role].metricErrors({ period: ALARM_PERIOD, label: role })),
        ),
        alarmGraph(functionThrottles, 'Function throttles (alarm)'),
        alarmGraph(workflowFailed, 'Workflow executions failed or timed out (alarm)'),
      ],
      [
        graph('Dependency failures by service', byValue('dependencyFailures', 'Service'), { stacked: true }),
        alarmGraph(kmsFailures, 'KMS failures (alarm)'),
        graph('API answers', [apiRequests.with({ label: 'requests' })], { right: [apiErrors.with({ label: '5xx' })] }),
      ],
      [alarmGraph(requestsTableThrottled, 'Requests table throttled (alarm)', 12), alarmGraph(ledgerTableThrottled, 'Ledger table throttled (alarm)', 12)],
      [
        new LogQueryWidget({
          title: 'Recent errors in the logs',
          logGroupNames: roles.map((role) => functions[role].logGroup.logGroupName),
          queryLines: ['fields @timestamp, function_name, correlation_id, message', 'filter level = "ERROR"', 'sort @timestamp desc', 'limit 50'],
          width: 24,
          height: 6,
        }),
      ],
    ];
    for (const row of rows) this.dashboard.addWidgets(...row);
  }
}

/** Every alarm, in a list. */
export function allAlarms(alarms: CountersignAlarms): Alarm[] {
  const { functionErrors, ...rest } = alarms;
  return [...Object.values(rest), ...Object.values(functionErrors)];
}
