/**
 * Where notifications go. On AWS, email goes out through SES (SendEmail, from `channels.email.from`); in local mode
 * (COUNTERSIGN_LOCAL_INBOX_URL set by the runtime) every message lands in the local inbox instead, exactly as it
 * would have been sent.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { z } from 'zod';
import { deployedConfig } from './deployed-config';

export const outgoingMessageSchema = z.strictObject({
  channel: z.enum(['email', 'slack', 'teams']),
  to: z.string().min(1),
  subject: z.string(),
  text: z.string(),
  actionId: z.string(),
  reviewUrl: z.string().optional(),
  payload: z.unknown().optional(),
});
export type OutgoingMessage = z.infer<typeof outgoingMessageSchema>;

let ses: SESv2Client | undefined;

export async function deliver(message: OutgoingMessage): Promise<void> {
  const inbox = process.env.COUNTERSIGN_LOCAL_INBOX_URL;
  if (inbox) {
    const res = await fetch(inbox, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
    if (!res.ok) throw new Error(`local inbox answered ${res.status}`);
    return;
  }
  if (message.channel !== 'email') throw new Error(`no ${message.channel} sender is configured for this deployment`);
  const email = deployedConfig().channels.email;
  if (!email) throw new Error('channels.email is not configured: approvers cannot be emailed');
  ses ??= new SESv2Client({});
  await ses.send(
    new SendEmailCommand({
      FromEmailAddress: email.from,
      Destination: { ToAddresses: [message.to] },
      ...(email.configurationSet ? { ConfigurationSetName: email.configurationSet } : {}),
      Content: { Simple: { Subject: { Data: message.subject, Charset: 'UTF-8' }, Body: { Text: { Data: message.text, Charset: 'UTF-8' } } } },
    }),
  );
}
