/**
 * What the use cases count (core/metrics.ts), from what they just did: the records a ledger append wrote, and the
 * channel reports of a round of sends. Counted from the records appended, never from the chain read, so a retry that
 * finds its work already done counts nothing twice.
 */
import type { ApprovalState } from '../core/approval';
import type { AuditRecord } from '../core/ledger-record';
import type { MetricsPort } from '../core/ports';
import { type ChannelReports, OUTCOME_TYPES, type OutcomeType, type ShadowResult } from '../core/records';

const isOutcome = (type: string): type is OutcomeType => (OUTCOME_TYPES as readonly string[]).includes(type);

/**
 * Requests (a `requested` record), ShadowDecisions (each shadow result of a `policy_decided` record), Decisions and
 * Expiries (an outcome record) and, when approvers settled a request that policy sent to them, TimeToDecision from
 * the request to its outcome.
 */
export function countAppended(metrics: MetricsPort, appended: readonly AuditRecord[], state: ApprovalState): void {
  const rule = state.policy?.rule ?? 'none';
  for (const record of appended) {
    if (record.type === 'requested') metrics.count('requests', { Effect: state.policy?.effect ?? 'none', Rule: rule });
    else if (record.type === 'policy_decided') countShadow(metrics, state.policy?.shadow ?? []);
    else if (record.type === 'escalated') metrics.count('escalations', {});
    else if (record.type === 'reminded') metrics.count('reminders', {});
    else if (isOutcome(record.type)) {
      metrics.count('decisions', { Outcome: record.type });
      if (record.type === 'expired') metrics.count('expiries', {});
      // A grant's approval is at once: no approver's time to decide.
      const byApprovers = state.policy?.effect === 'require_approval' && !state.policy.grantedBy && (record.type === 'approved' || record.type === 'denied');
      if (byApprovers) metrics.timing('timeToDecision', { Rule: rule }, Math.max(0, Date.parse(record.at) - Date.parse(state.createdAt)));
      if (record.type === 'approved' && record.data.grant) metrics.count('grantEvents', { Event: 'made', Rule: rule });
      if (record.type === 'approved' && state.policy?.grantedBy) metrics.count('grantEvents', { Event: 'used', Rule: rule });
    } else if (record.type === 'grant_revoked') metrics.count('grantEvents', { Event: 'revoked', Rule: rule });
  }
}

/** ShadowDecisions: each shadow rule a request reached that matched, by its would-be effect (`not_judged`: it would have refused). */
function countShadow(metrics: MetricsPort, shadow: readonly ShadowResult[]): void {
  for (const result of shadow) metrics.count('shadowDecisions', { Rule: result.rule, Effect: 'effect' in result ? result.effect : 'not_judged' });
}

/** NotificationsSent and NotificationsFailed, by channel, from a round of sends' reports. */
export function countDeliveries(metrics: MetricsPort, reports: ChannelReports): void {
  for (const [channel, report] of Object.entries(reports)) {
    if (!report) continue;
    if (report.sent.length > 0) metrics.count('notificationsSent', { Channel: channel }, report.sent.length);
    if (report.failed.length > 0) metrics.count('notificationsFailed', { Channel: channel }, report.failed.length);
  }
}
