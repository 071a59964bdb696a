/**
 * Where notifications go. On AWS the channel adapters send them; in local mode (COUNTERSIGN_LOCAL_INBOX_URL set by
 * the runtime) they land in the local inbox instead, exactly as they would have been sent.
 */
import { z } from 'zod';

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

export async function deliver(message: OutgoingMessage): Promise<void> {
  const inbox = process.env.COUNTERSIGN_LOCAL_INBOX_URL;
  if (!inbox) throw new Error(`no ${message.channel} sender is configured for this deployment`);
  const res = await fetch(inbox, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
  if (!res.ok) throw new Error(`local inbox answered ${res.status}`);
}
