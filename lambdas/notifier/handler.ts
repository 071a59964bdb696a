/**
 * Notify task (lambda:invoke.waitForTaskToken): keeps the task token server-side and asks the approvers on the
 * rule's channels. Email and Slack DMs carry each approver's personal review link; a Slack channel post and the
 * Teams card link to the request's landing page, where an approver proves who they are. Each send is retried with
 * backoff and one failing channel never blocks the others; what was sent and what failed is ledgered in
 * `notified`. Only when nothing at all could be sent does the task fail (and the workflow fail closed after its
 * retries). A retried task sends nothing twice: `notified` in the ledger marks the sending done.
 */
import { approversToAsk, deriveState, nextWait, planWake, statusOf, type ApprovalState } from '../core/approval';
import type { Channel } from '../core/config';
import { approvalRequestHtml, approvalRequestText } from '../core/notification';
import { issueReviewToken, type MacPort } from '../core/review-token';
import { approvalRequestMessage, slackUsersOf } from '../core/slack';
import { approvalRequestCard, requestLandingUrl } from '../core/teams';
import { approverAddress } from '../core/session';
import { AlreadySettledError, notifyEventSchema, wakeEventSchema, workflowWaitSchema, type WorkflowWait } from '../core/workflow';
import { kms, requiredEnv } from '../adapters/aws-clients';
import { deployedConfig, deployedDirectory } from '../adapters/deployed-config';
import { kmsMac } from '../adapters/kms-mac';
import { ledger } from '../adapters/ledger';
import { deliver, DELIVERY_TIMEOUT_MS, type OutgoingMessage } from '../adapters/outbox';
import { storeTaskToken } from '../adapters/request-store';
import { retryBudgetMs, withRetries } from '../adapters/retry';

/**
 * How each send is retried: every attempt within the delivery timeout, three in all, with short waits between. The
 * function's timeout fits every send at its worst (`retryBudgetMs(NOTIFY_RETRY)`) and then the `notified` record.
 */
export const NOTIFY_RETRY = { attempts: 3, baseDelayMs: 300, maxDelayMs: 2000, attemptTimeoutMs: DELIVERY_TIMEOUT_MS } as const;
/**
 * Time kept back from the invocation for recording what was sent (reading the chain, signing with KMS, the
 * conditional write): the sends stop this long before the function would time out. A function that timed out
 * before recording would be retried by Step Functions, and every approver asked again.
 */
export const NOTIFIED_RECORD_RESERVE_MS = 8000;

/** What the handler needs of the Lambda context: its remaining time bounds the sends. */
export interface NotifierContext {
  getRemainingTimeInMillis(): number;
}

/** When the sends must be over: the invocation's end less the record's reserve (without a context, the retry budget). */
function sendDeadline(context: NotifierContext | undefined): number {
  const remaining = context?.getRemainingTimeInMillis() ?? retryBudgetMs(NOTIFY_RETRY) + NOTIFIED_RECORD_RESERVE_MS;
  return Date.now() + Math.max(0, remaining - NOTIFIED_RECORD_RESERVE_MS);
}

interface ChannelReport {
  sent: string[];
  failed: Array<{ to: string; error: string }>;
}

/** Notify (with a task token) or Wake (`wake: true`: remind, escalate, or report the deadline). */
export async function handler(event: unknown, context?: NotifierContext): Promise<{ notified: number } | WorkflowWait> {
  const deadline = sendDeadline(context);
  const wakeEvent = wakeEventSchema.safeParse(event);
  if (wakeEvent.success) return wake(wakeEvent.data.requestId, deadline);
  const { requestId, taskToken } = notifyEventSchema.parse(event);
  await storeTaskToken(requestId, taskToken);
  const state = deriveState(await ledger().read(requestId));
  if (!state?.policy) throw new Error(`request ${requestId} has no policy decision in the ledger`);
  // Settled before the workflow got here (e.g. cancelled at once): the workflow goes straight to its closing step.
  if (statusOf(state) !== 'pending') throw new AlreadySettledError(requestId);
  if (state.notified) return { notified: 0 };

  const reports = await send(plan(state, kmsMac(kms, requiredEnv('reviewKeyId')), publicUrl(), approversToAsk(state, deployedDirectory()), 'request'), deadline);
  const sent = Object.values(reports).reduce((n, r) => n + r.sent.length, 0);
  // Nobody could be asked (no channel reached anyone): fail, so the workflow retries and then fails closed.
  if (sent === 0) throw new Error(`no notification could be sent for ${requestId}`);
  await ledger().append(requestId, (current) =>
    deriveState(current)?.notified ? [] : [{ type: 'notified', actor: 'countersign', data: { channels: reports, approvers: approversToAsk(state, deployedDirectory()) } }],
  );
  return { notified: sent };
}

const publicUrl = () => requiredEnv('publicUrl').replace(/\/+$/, '');

/**
 * The Wake step: escalate and remind as due (each ledgered), and say when to wake next, or that the deadline passed.
 * A settled request answers a short wait: the next Notify attempt finds it settled and closes the workflow.
 */
async function wake(requestId: string, deadline: number): Promise<WorkflowWait> {
  const state = deriveState(await ledger().read(requestId));
  if (!state?.policy) throw new Error(`request ${requestId} has no policy decision in the ledger`);
  if (statusOf(state) !== 'pending') return workflowWaitSchema.parse(nextWait(state, new Date(), deployedDirectory()));
  const due = planWake(state, new Date(), deployedDirectory());
  if (due.expired) return workflowWaitSchema.parse(nextWait(state, new Date(), deployedDirectory()));
  const mac = kmsMac(kms, requiredEnv('reviewKeyId'));
  if (due.escalate.length > 0) {
    // Record first: the escalated approvers may vote as soon as they are asked.
    await ledger().append(requestId, (current) => (deriveState(current)?.escalatedTo ? [] : [{ type: 'escalated', actor: 'countersign', data: { approvers: [...due.escalate] } }]));
    const escalated = deriveState(await ledger().read(requestId))!;
    await send(plan(escalated, mac, publicUrl(), due.escalate, 'escalation'), deadline);
  }
  if (due.remind.length > 0) {
    const reports = await send(plan(state, mac, publicUrl(), due.remind, 'reminder'), deadline);
    // Recorded once per round: if another Wake attempt recorded a reminder since this one read the chain, skip.
    await ledger().append(requestId, (current) =>
      deriveState(current)?.remindedAt !== state.remindedAt ? [] : [{ type: 'reminded', actor: 'countersign', data: { channels: reports, approvers: [...due.remind] } }],
    );
  }
  // Asked again from the chain as it is now: a vote may have settled the request meanwhile, and the deadline may
  // have come while the reminders went out (then Wake reports it expired, never a wait of 0).
  return workflowWaitSchema.parse(nextWait(deriveState(await ledger().read(requestId))!, new Date(), deployedDirectory()));
}

/**
 * Sends every planned message at once, each retried with backoff; one failing never blocks the others. All are over
 * by `deadline`: a send still failing (or hanging) then is reported failed, never waited for.
 */
async function send(sends: ReturnType<typeof plan>, deadline: number): Promise<Partial<Record<Channel, ChannelReport>>> {
  const outcomes = await Promise.all(
    sends.map(async ({ message }) => {
      try {
        await withRetries(async (_attempt, signal) => deliver(await message(), { signal }), { ...NOTIFY_RETRY, deadline });
        return undefined;
      } catch (err) {
        // Only the error's kind and message: never a token, a URL or a response body.
        return `${(err as Error).name}: ${(err as Error).message}`.slice(0, 300);
      }
    }),
  );
  // Reported in the plan's order, whatever order the sends finished in: the record reads the same on every run.
  const reports: Partial<Record<Channel, ChannelReport>> = {};
  sends.forEach(({ channel, to }, i) => {
    const report = (reports[channel] ??= { sent: [], failed: [] });
    const error = outcomes[i];
    if (error === undefined) report.sent.push(to);
    else report.failed.push({ to, error });
  });
  return reports;
}

type MessageKind = 'request' | 'reminder' | 'escalation';

/**
 * Every message to send to `approvers`, built lazily (review tokens cost a KMS call each). The first request also
 * posts to the Slack channel and Teams; reminders and escalations are personal only.
 */
function plan(state: ApprovalState, mac: MacPort, base: string, approvers: readonly string[], kind: MessageKind): Array<{ channel: Channel; to: string; message: () => Promise<OutgoingMessage> }> {
  const config = deployedConfig();
  const requestId = state.id;
  const channels = state.policy?.channels ?? ['email'];
  const expiresAt = new Date(state.policy?.expiresAt ?? Date.now());
  const personalLink = async (approver: string) => `${base}/v1/review/${await issueReviewToken(mac, { requestId, approver, expiresAt })}`;
  const landingUrl = requestLandingUrl(base, requestId);
  const prefix = kind === 'reminder' ? 'Reminder: ' : kind === 'escalation' ? 'Escalated to you: ' : '';
  const text = (reviewUrl: string) => {
    const base = approvalRequestText(state, reviewUrl);
    return { subject: prefix + base.subject, text: base.text };
  };
  const { subject } = text(landingUrl);
  const sends: Array<{ channel: Channel; to: string; message: () => Promise<OutgoingMessage> }> = [];

  for (const approver of approvers) {
    const address = approverAddress(config, approver);
    if (channels.includes('email') && config.channels.email && address) {
      sends.push({
        channel: 'email',
        to: address,
        message: async () => {
          const reviewUrl = await personalLink(approver);
          return { channel: 'email', to: address, ...text(reviewUrl), html: approvalRequestHtml(state, reviewUrl), actionId: requestId, reviewUrl };
        },
      });
    }
    // Only unambiguous bindings: a Slack user bound to two identities could never press a button that counts.
    for (const userId of channels.includes('slack') && config.channels.slack ? slackUsersOf(config, approver) : []) {
      sends.push({
        channel: 'slack',
        to: userId,
        message: async () => {
          const reviewUrl = await personalLink(approver);
          const payload = approvalRequestMessage(state, { reviewUrl, channel: userId });
          return { channel: 'slack', to: userId, subject, text: payload.text, actionId: requestId, reviewUrl, payload };
        },
      });
    }
  }
  const slackChannel = config.channels.slack?.channel;
  if (kind === 'request' && channels.includes('slack') && slackChannel) {
    sends.push({
      channel: 'slack',
      to: slackChannel,
      message: async () => {
        const payload = approvalRequestMessage(state, { reviewUrl: landingUrl, channel: slackChannel });
        return { channel: 'slack', to: slackChannel, subject, text: payload.text, actionId: requestId, reviewUrl: landingUrl, payload };
      },
    });
  }
  if (kind === 'request' && channels.includes('teams') && config.channels.teams) {
    sends.push({
      channel: 'teams',
      to: 'teams',
      message: async () => {
        const payload = approvalRequestCard(state, { landingUrl });
        return { channel: 'teams', to: 'teams', subject, text: text(landingUrl).text, actionId: requestId, reviewUrl: landingUrl, payload };
      },
    });
  }
  return sends;
}
