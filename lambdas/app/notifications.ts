/**
 * Notifications, in one place: who is told what, on which channel. Approvers are asked (and reminded, and asked
 * on escalation) with their personal review links by email and Slack DM, and through the request's landing page
 * on a Slack channel post and a Teams card; an approver who asks on that page is emailed their link; the requester
 * is told the outcome by Slack DM. The words of each message are core's (notification.ts, slack.ts, teams.ts).
 */
import { type ApprovalState, statusOf } from '../core/approval';
import type { Channel, Config } from '../core/config';
import { approvalRequestHtml, approvalRequestText, DELIVERY_TIMEOUT_MS, type OutgoingMessage } from '../core/notification';
import type { Ports } from '../core/ports';
import type { ChannelReports } from '../core/records';
import { retryBudgetMs, withRetries } from '../core/retry';
import { issueReviewToken } from '../core/review-token';
import { approverAddress } from '../core/session';
import { approvalRequestMessage, slackUsersOf } from '../core/slack';
import { approvalRequestCard, requestLandingUrl } from '../core/teams';
import { countDeliveries } from './metrics';

/** One message to send, built only when sent (a personal review link costs a MAC call). */
export interface PlannedSend {
  readonly channel: Channel;
  readonly to: string;
  readonly message: () => Promise<OutgoingMessage>;
}

export type MessageKind = 'request' | 'reminder' | 'escalation';

type LinkPorts = Pick<Ports, 'mac' | 'policy' | 'publicUrl' | 'clock'>;

/** An approver's personal review link to the request, valid until the request's deadline. */
export async function personalReviewUrl(ports: Pick<Ports, 'mac' | 'publicUrl'>, state: ApprovalState, approver: string): Promise<string> {
  const expiresAt = new Date(state.policy?.expiresAt ?? Date.now());
  return `${ports.publicUrl}/v1/review/${await issueReviewToken(ports.mac, { requestId: state.id, approver, expiresAt })}`;
}

/**
 * Every message asking `approvers` to decide. The first request also posts to the Slack channel and Teams;
 * reminders and escalations are personal only.
 */
export function approverMessages(ports: LinkPorts, state: ApprovalState, approvers: readonly string[], kind: MessageKind): PlannedSend[] {
  const config = ports.policy.config();
  const requestId = state.id;
  const channels = state.policy?.channels ?? ['email'];
  const landingUrl = requestLandingUrl(ports.publicUrl, requestId);
  const prefix = kind === 'reminder' ? 'Reminder: ' : kind === 'escalation' ? 'Escalated to you: ' : '';
  // Every message says how long was left when it was planned, by the deployment's clock.
  const now = ports.clock.now();
  const text = (reviewUrl: string) => {
    const words = approvalRequestText(state, reviewUrl, now);
    return { subject: prefix + words.subject, text: words.text };
  };
  const { subject } = text(landingUrl);
  const sends: PlannedSend[] = [];

  for (const approver of approvers) {
    const address = approverAddress(config, approver);
    if (channels.includes('email') && config.channels.email && address) {
      sends.push({
        channel: 'email',
        to: address,
        message: async () => {
          const reviewUrl = await personalReviewUrl(ports, state, approver);
          return { channel: 'email', to: address, ...text(reviewUrl), html: approvalRequestHtml(state, reviewUrl, now), actionId: requestId, reviewUrl };
        },
      });
    }
    // Only unambiguous bindings: a Slack user bound to two identities could never press a button that counts.
    for (const userId of channels.includes('slack') && config.channels.slack ? slackUsersOf(config, approver) : []) {
      sends.push({
        channel: 'slack',
        to: userId,
        message: async () => {
          const reviewUrl = await personalReviewUrl(ports, state, approver);
          const payload = approvalRequestMessage(state, { reviewUrl, channel: userId, now });
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
        const payload = approvalRequestMessage(state, { reviewUrl: landingUrl, channel: slackChannel, now });
        return { channel: 'slack', to: slackChannel, subject, text: payload.text, actionId: requestId, reviewUrl: landingUrl, payload };
      },
    });
  }
  if (kind === 'request' && channels.includes('teams') && config.channels.teams) {
    sends.push({
      channel: 'teams',
      to: 'teams',
      message: async () => {
        const payload = approvalRequestCard(state, { landingUrl, now });
        return { channel: 'teams', to: 'teams', subject, text: text(landingUrl).text, actionId: requestId, reviewUrl: landingUrl, payload };
      },
    });
  }
  return sends;
}

/** The email carrying an approver's personal review link, which they asked for on the request's page. */
export async function personalLinkEmail(
  ports: Pick<Ports, 'mac' | 'publicUrl' | 'clock'>,
  state: ApprovalState,
  approver: string,
  address: string,
): Promise<OutgoingMessage> {
  const reviewUrl = await personalReviewUrl(ports, state, approver);
  const { subject, text } = approvalRequestText(state, reviewUrl, ports.clock.now());
  return {
    channel: 'email',
    to: address,
    subject: `Your review link: ${subject}`,
    text: `You asked for your personal review link on this request's page. If it was not you, ignore this email: nothing happens until you open the link and decide.\n\n${text}`,
    actionId: state.id,
    reviewUrl,
  };
}

/** The requester's (and onBehalfOf's) Slack DMs telling them the outcome, when bound to a Slack user. */
export function requesterNotices(config: Config, state: ApprovalState): OutgoingMessage[] {
  if (!config.channels.slack) return [];
  const people = [state.requester, state.request.onBehalfOf].filter((p): p is string => p !== undefined);
  // Countersign's own words only; the action name is constrained to [a-z0-9_.:-], so it cannot format.
  const text = `Your request ${state.request.action} (${state.id}) is ${statusOf(state)}.`;
  // Only unambiguous Slack bindings, as for approvers.
  return [...new Set(people.flatMap((p) => slackUsersOf(config, p)))].map((userId) => ({
    channel: 'slack',
    to: userId,
    subject: text,
    text,
    actionId: state.id,
    payload: { channel: userId, text, unfurl_links: false, unfurl_media: false },
  }));
}

/**
 * How each send to an approver is retried: every attempt within the delivery timeout, three in all, with short waits
 * between. The notifier's timeout fits every send at its worst (`retryBudgetMs(NOTIFY_RETRY)`) and then its record.
 */
export const NOTIFY_RETRY = { attempts: 3, baseDelayMs: 300, maxDelayMs: 2000, attemptTimeoutMs: DELIVERY_TIMEOUT_MS } as const;

/** The longest `sendAll` takes with no deadline given. */
export const NOTIFY_BUDGET_MS = retryBudgetMs(NOTIFY_RETRY);

/**
 * Sends every planned message at once, each retried with backoff; one failing never blocks the others. All are over
 * by `deadline` (epoch ms): a send still failing (or hanging) then is reported failed, never waited for.
 */
export async function sendAll(outbox: Ports['outbox'], sends: readonly PlannedSend[], deadline: number): Promise<ChannelReports> {
  const outcomes = await Promise.all(
    sends.map(async ({ message }) => {
      try {
        await withRetries(async (_attempt, signal) => outbox.deliver(await message(), { signal }), { ...NOTIFY_RETRY, deadline });
        return undefined;
      } catch (err) {
        // Only the error's kind and message: never a token, a URL or a response body.
        return `${(err as Error).name}: ${(err as Error).message}`.slice(0, 300);
      }
    }),
  );
  // Reported in the plan's order, whatever order the sends finished in: the record reads the same on every run.
  const reports: ChannelReports = {};
  sends.forEach(({ channel, to }, i) => {
    reports[channel] ??= { sent: [], failed: [] };
    const report = reports[channel];
    const error = outcomes[i];
    if (error === undefined) report.sent.push(to);
    else report.failed.push({ to, error });
  });
  return reports;
}

/** Delivers every message at once, each tried once; throws the first failure after all have finished. */
export async function deliverAll(outbox: Ports['outbox'], messages: readonly OutgoingMessage[], metrics?: Ports['metrics']): Promise<void> {
  const results = await Promise.allSettled(messages.map((m) => outbox.deliver(m)));
  if (metrics) {
    const reports: ChannelReports = {};
    results.forEach((r, i) => {
      const { channel, to } = messages[i]!;
      reports[channel] ??= { sent: [], failed: [] };
      if (r.status === 'fulfilled') reports[channel].sent.push(to);
      else reports[channel].failed.push({ to, error: '' });
    });
    countDeliveries(metrics, reports);
  }
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
