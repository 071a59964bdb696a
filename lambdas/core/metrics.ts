/**
 * Countersign's own metrics, in one place: what the functions publish (CloudWatch embedded metric format, printed
 * with their logs, so publishing costs no API call), what the stack's alarms and dashboard watch, and what local
 * mode's `/_local/metrics` shows. Each metric is published under its dimensions and also without them (EMF
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

const metric = (name: string, unit: MetricUnit, dimensions: readonly string[], description: string): MetricDefinition => ({
  name,
  unit,
  dimensions,
  description,
});

/** Every metric Countersign publishes, by the key the code records it under. */
export const METRICS = {
  requests: metric('Requests', 'Count', ['Effect', 'Rule'], 'a request intake accepted, by the effect policy gave it and the rule that decided'),
  decisions: metric('Decisions', 'Count', ['Outcome'], 'a request settled: approved, denied, expired or cancelled'),
  timeToDecision: metric('TimeToDecision', 'Milliseconds', ['Rule'], 'from a pending request to its outcome, when approvers settled it'),
  notificationsSent: metric('NotificationsSent', 'Count', ['Channel'], 'a message delivered to an approver or channel'),
  notificationsFailed: metric('NotificationsFailed', 'Count', ['Channel'], 'a message that could not be delivered after its retries'),
  reminders: metric('Reminders', 'Count', [], 'a reminder sent to the approvers still to vote'),
  escalations: metric('Escalations', 'Count', [], 'a request escalated to more approvers'),
  expiries: metric('Expiries', 'Count', [], 'a request that expired with nobody deciding'),
  repairActions: metric('RepairActions', 'Count', ['Kind'], 'the repair job completed something a failure left half-done'),
  checkpointsWritten: metric('CheckpointsWritten', 'Count', [], 'a signed checkpoint of the ledger written'),
  checkpointLag: metric('CheckpointLag', 'Seconds', [], 'how far behind the clock the newest checkpoint covers records'),
  callbackFailures: metric('CallbackFailures', 'Count', [], "a requester's callback that failed after its retries"),
  httpResponses: metric('HttpResponses', 'Count', ['Route', 'StatusClass'], 'an API answer, by route and status class (2xx, 4xx, 5xx)'),
  dependencyFailures: metric('DependencyFailures', 'Count', ['Service'], 'a call to DynamoDB, KMS, Step Functions or SES that failed'),
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/** The values a dimension takes where they are a closed set (others, such as Rule and Route, come from the config). */
export const DIMENSION_VALUES = {
  Effect: ['allow', 'deny', 'require_approval'],
  Outcome: OUTCOME_TYPES,
  Channel: CHANNELS,
  Kind: ['completed', 'started', 'expired'],
  StatusClass: ['2xx', '3xx', '4xx', '5xx'],
  Service: ['dynamodb', 'kms', 'states', 'ses', 'secretsmanager', 'slack', 'teams'],
} as const;
