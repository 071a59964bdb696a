/**
 * Countersign's own metrics, in one place: what the functions publish (CloudWatch embedded metric format, printed
 * with their logs, so publishing costs no API call), what the stack's alarms and dashboard watch, and what local
 * mode's metrics page shows. Each metric is published under its dimensions and also without them (EMF
 * dimension sets `[dims]` and `[]`), so an alarm can watch the total while the dashboard splits it. Pure.
 */
import { CHANNELS } from './config';
import { OUTCOME_TYPES } from './records';

/** The CloudWatch namespace every Countersign metric is published in. */
export const METRIC_NAMESPACE = 'Countersign';

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds';

export interface MetricDefinition {
  /** The CloudWatch metric name. */
  readonly name: string;
  readonly unit: MetricUnit;
  /** The dimensions it is split by (besides the dimensionless total). */
  readonly dimensions: readonly string[];
  /** What one data point means, for the dashboard and the runbook. */
  readonly description: string;
}

// Generic, so each entry keeps its unit and dimension names as literal types (what the metrics port checks against).
const metric = <const U extends MetricUnit, const D extends readonly string[]>(name: string, unit: U, dimensions: D, description: string) => ({
  name,
  unit,
  dimensions,
  description,
});

/** Every metric Countersign publishes, by the key the code records it under. */
export const METRICS = {
  requests: metric('Requests', 'Count', ['Effect', 'Rule'], 'a request intake accepted, by the effect policy gave it and the rule that decided'),
  shadowDecisions: metric(
    'ShadowDecisions',
    'Count',
    ['Rule', 'Effect'],
    'a shadow rule a request reached matched it, by the rule and the effect it would have had (not_judged: enforced, it would have refused the request)',
  ),
  decisions: metric('Decisions', 'Count', ['Outcome'], 'a request settled: approved, denied, expired or cancelled'),
  timeToDecision: metric('TimeToDecision', 'Milliseconds', ['Rule'], 'from a pending request to its outcome, when approvers settled it'),
  notificationsSent: metric('NotificationsSent', 'Count', ['Channel'], 'a message delivered to an approver or channel'),
  notificationsFailed: metric(
    'NotificationsFailed',
    'Count',
    ['Channel'],
    'a message that could not be delivered, per attempt (the workflow retries a Notify that reached nobody)',
  ),
  reminders: metric('Reminders', 'Count', [], 'a reminder sent to the approvers still to vote'),
  escalations: metric('Escalations', 'Count', [], 'a request escalated to more approvers'),
  expiries: metric('Expiries', 'Count', [], 'a request that expired with nobody deciding'),
  redemptions: metric(
    'Redemptions',
    'Count',
    ['Result'],
    'an approval redeemed (its one executed record), a redemption refused as already redeemed or for another reason (mismatch, lapsed, a receipt that does not verify), or an approval that lapsed unredeemed',
  ),
  repairActions: metric('RepairActions', 'Count', ['Kind'], 'the repair job completed something a failure left half-done'),
  checkpointsWritten: metric('CheckpointsWritten', 'Count', [], 'a signed checkpoint of the ledger written'),
  checkpointLag: metric('CheckpointLag', 'Seconds', [], 'how far behind the clock the newest checkpoint covers records'),
  callbackFailures: metric(
    'CallbackFailures',
    'Count',
    [],
    "an attempt at a requester's callback that was refused or failed (Step Functions retries the step)",
  ),
  httpResponses: metric('HttpResponses', 'Count', ['Route', 'StatusClass'], 'an API answer, by route and status class (2xx, 4xx, 5xx)'),
  grantEvents: metric('GrantEvents', 'Count', ['Event', 'Rule'], 'a grant made by an approval, used to approve a request at once, or revoked'),
  dependencyFailures: metric('DependencyFailures', 'Count', ['Service'], 'a call to DynamoDB, KMS, Step Functions or SES that failed'),
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/** What became of a redemption, or of an approval under `redeemWithin` that nobody redeemed (`Redemptions`' Result). */
export const REDEMPTION_RESULTS = ['redeemed', 'already_redeemed', 'refused', 'lapsed'] as const;
export type RedemptionResult = (typeof REDEMPTION_RESULTS)[number];

/** The values a dimension takes where they are a closed set (others, such as Rule and Route, come from the config). */
export const DIMENSION_VALUES = {
  Effect: ['allow', 'deny', 'require_approval'],
  Outcome: OUTCOME_TYPES,
  Channel: CHANNELS,
  Kind: ['completed', 'started', 'expired'],
  Result: REDEMPTION_RESULTS,
  StatusClass: ['2xx', '3xx', '4xx', '5xx'],
  Event: ['made', 'used', 'revoked'],
  Service: ['dynamodb', 'kms', 'states', 'ses', 'secretsmanager', 'slack', 'teams'],
} as const;

type Definition<K extends MetricKey> = (typeof METRICS)[K];

/** The dimension values a data point of metric `K` carries: one string for each of its catalogue dimensions. */
export type MetricDimensions<K extends MetricKey> = { readonly [D in Definition<K>['dimensions'][number]]: string };

/** The metrics counted (unit Count) and those measured (a duration, in the metric's unit). */
export type CountKey = { [K in MetricKey]: Definition<K>['unit'] extends 'Count' ? K : never }[MetricKey];
export type TimingKey = Exclude<MetricKey, CountKey>;

/** One recorded data point, as the port collects them until the invocation's end. */
export interface MetricPoint {
  readonly key: MetricKey;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * One CloudWatch embedded metric format document (docs: "Specification: Embedded metric format"): `_aws` says which
 * root members are metrics (`Metrics`, by name and unit) and which are their dimensions (`Dimensions`, sets of member
 * names; `[]` publishes the metric without dimensions), at `Timestamp` (ms since the epoch).
 */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string;
      readonly Dimensions: ReadonlyArray<readonly string[]>;
      readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit: MetricUnit }>;
    }>;
  };
  readonly [member: string]: unknown;
}

/** EMF's limits: at most 100 metrics in a directive and 100 values in a member. */
const EMF_MAX_METRICS = 100;
const EMF_MAX_VALUES = 100;
/** A dimension value CloudWatch takes: 1 to 1024 characters, not blank (Countersign's are far shorter). */
const MAX_DIMENSION_VALUE = 256;

function dimensionValue(value: string): string {
  const trimmed = value.trim();
  return trimmed === '' ? 'none' : trimmed.slice(0, MAX_DIMENSION_VALUE);
}

interface Group {
  readonly key: MetricKey;
  readonly dimensions: ReadonlyArray<readonly [string, string]>;
  readonly values: number[];
}

interface Draft {
  /** Dimension values and metric values, by member name. */
  readonly root: Record<string, unknown>;
  readonly groups: Group[];
}

/**
 * The EMF documents (one log line each) publishing `points`, as few as EMF allows. Points of the same metric and
 * dimension values are merged: counts summed, durations kept as a list of values (each one a sample). A document holds
 * a metric once and each dimension with one value, so points that differ there go to another document. Each metric
 * is published under its catalogue dimensions and without them (`[dims]` and `[]`). Pure.
 */
export function emfDocuments(points: readonly MetricPoint[], timestamp: number): EmfDocument[] {
  const groups: Group[] = [];
  const open = new Map<string, Group>();
  for (const point of points) {
    const definition: MetricDefinition = METRICS[point.key];
    if (!Number.isFinite(point.value)) continue;
    const dimensions = definition.dimensions.map((name) => [name, dimensionValue(point.dimensions[name] ?? '')] as const);
    const id = JSON.stringify([point.key, dimensions]);
    let group = open.get(id);
    if (!group || group.values.length >= EMF_MAX_VALUES) {
      group = { key: point.key, dimensions, values: [] };
      open.set(id, group);
      groups.push(group);
    }
    if (definition.unit === 'Count' && group.values.length > 0) group.values[0]! += point.value;
    else group.values.push(point.value);
  }
  const drafts: Draft[] = [];
  for (const group of groups) {
    const { name } = METRICS[group.key];
    const fits = (draft: Draft) =>
      draft.groups.length < EMF_MAX_METRICS && !(name in draft.root) && group.dimensions.every(([d, v]) => draft.root[d] === undefined || draft.root[d] === v);
    let draft = drafts.find(fits);
    if (!draft) {
      draft = { root: {}, groups: [] };
      drafts.push(draft);
    }
    for (const [d, v] of group.dimensions) draft.root[d] = v;
    draft.root[name] = group.values.length === 1 ? group.values[0] : group.values;
    draft.groups.push(group);
  }
  return drafts.map(({ root, groups: inDraft }) => {
    // One directive per dimension set: the metrics split by the same dimensions share it.
    const directives = new Map<string, { Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: MetricUnit }> }>();
    for (const group of inDraft) {
      const { name, unit } = METRICS[group.key];
      const dims = group.dimensions.map(([d]) => d);
      const id = JSON.stringify(dims);
      let directive = directives.get(id);
      if (!directive) {
        directive = { Namespace: METRIC_NAMESPACE, Dimensions: dims.length > 0 ? [dims, []] : [[]], Metrics: [] };
        directives.set(id, directive);
      }
      directive.Metrics.push({ Name: name, Unit: unit });
    }
    return { _aws: { Timestamp: timestamp, CloudWatchMetrics: [...directives.values()] }, ...root };
  });
}
