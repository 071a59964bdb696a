/**
 * Where notifications go. Each channel sends its own way: email through SES (from `channels.email.from`), Slack
 * through chat.postMessage with the bot token, Teams through the Workflows webhook. Local mode serves each of them
 * (the SES endpoint through AWS_ENDPOINT_URL_SESV2, the Slack Web API base, a Teams webhook URL as the secret's
 * value) and keeps what they receive in its inbox, in the shape of `outgoingMessageSchema`.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { DELIVERY_TIMEOUT_MS, type OutgoingMessage } from '../core/notification';
import { RetryableError, untilAborted } from '../core/retry';
import { countingFailures } from './dependency-metrics';
import { deployedConfig } from './deployed-config';
import { resolveSecret } from './secrets';
import { postSlackMessage } from './slack';
import { postTeamsCard } from './teams';

/**
 * Every email names the request it is about in this header (its id, `act_…`), for mail filtering and rules; local
 * mode's inbox reads it too.
 */
export const REQUEST_EMAIL_HEADER = 'X-Countersign-Request';

/** RFC 3834 and Exchange's headers: auto-responders (out of office, vacation) must not answer, so nothing loops. */
export const AUTOMATED_EMAIL_HEADERS = [
  { Name: 'Auto-Submitted', Value: 'auto-generated' },
  { Name: 'X-Auto-Response-Suppress', Value: 'All' },
  { Name: 'Precedence', Value: 'bulk' },
] as const;

let ses: SESv2Client | undefined;

/** Sends one message on its channel, within DELIVERY_TIMEOUT_MS and before `signal` aborts (when given). */
export async function deliver(message: OutgoingMessage, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
  const timeout = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  return untilAborted(send(message, signal), signal);
}

async function send(message: OutgoingMessage, signal: AbortSignal): Promise<void> {
  const { channels } = deployedConfig();
  switch (message.channel) {
    case 'email': {
      if (!channels.email) throw new Error('channels.email is not configured: approvers cannot be emailed');
      ses ??= countingFailures(new SESv2Client({}), 'ses');
      try {
        await ses.send(
          new SendEmailCommand({
            FromEmailAddress: channels.email.from,
            Destination: { ToAddresses: [message.to] },
            ...(channels.email.configurationSet ? { ConfigurationSetName: channels.email.configurationSet } : {}),
            Content: {
              Simple: {
                Subject: { Data: message.subject, Charset: 'UTF-8' },
                Body: { Text: { Data: message.text, Charset: 'UTF-8' }, ...(message.html ? { Html: { Data: message.html, Charset: 'UTF-8' } } : {}) },
                Headers: [
                  ...AUTOMATED_EMAIL_HEADERS.map((h) => ({ ...h })),
                  ...(message.actionId ? [{ Name: REQUEST_EMAIL_HEADER, Value: message.actionId }] : []),
                ],
              },
            },
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'TooManyRequestsException' || name === 'LimitExceededException') throw new RetryableError(`SES throttled: ${name}`);
        throw err;
      }
      return;
    }
    case 'slack':
      if (!channels.slack) throw new Error('channels.slack is not configured');
      await postSlackMessage(await resolveSecret(channels.slack.botToken), message.payload, { signal });
      return;
    case 'teams':
      if (!channels.teams) throw new Error('channels.teams is not configured');
      await postTeamsCard(await resolveSecret(channels.teams.webhookUrl), message.payload, fetch, { signal });
      return;
  }
}
