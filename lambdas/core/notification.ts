/**
 * Notifications' words and envelope: the message the outbox sends on a channel, and what an approver is told by
 * email, the whole context of a request, as plain text and as HTML. Most of it is
 * agent-supplied, so every value is escaped for its surface and then each hidden character (core/text.ts: bidi
 * overrides, zero-width and tag characters, controls, line separators) is marked `[U+XXXX]`; one-line values (the
 * subject, the labelled fields) show a line break as `[U+000A]` too, and the justification is quoted line by line
 * (`> `), so no agent text can fake a header or one of our lines.
 */
import type { ApprovalState } from './approval';
import { channelSchema } from './config';
import { formatUtc, timeLeftWords } from './dates';
import { grantOfferWords } from './grant';
import { escapeHtml, safeHref } from './html';
import { codePointName, markHidden } from './text';
import * as z from './zod';

/**
 * Longest one delivery may take, whatever the channel (reading its secret included): a caller gets its answer, a
 * TimeoutError at worst, well inside its function's timeout. Retries are the caller's (see the notifier).
 */
export const DELIVERY_TIMEOUT_MS = 5000;

/** One message on one channel, as the outbox sends it (and local mode's inbox keeps it). */
export const outgoingMessageSchema = z.strictObject({
  channel: channelSchema,
  to: z.string().check(z.minLength(1)),
  subject: z.string(),
  text: z.string(),
  /** The HTML alternative of an email. */
  html: z.optional(z.string()),
  actionId: z.string(),
  reviewUrl: z.optional(z.string()),
  /** Slack and Teams: the exact JSON body sent. */
  payload: z.optional(z.unknown()),
});
export type OutgoingMessage = z.infer<typeof outgoingMessageSchema>;

const bracketed = (name: string) => `[${name}]`;

/**
 * Text for a one-line place, already escaped for its surface: hidden characters marked, and a line feed too (a
 * carriage return is a hidden character already).
 */
function oneLine(escaped: string, render: (name: string) => string = bracketed): string {
  return markHidden(escaped, render).replace(/\n/g, () => render(codePointName('\n')));
}

/** In HTML a marker is a span that keeps its `[U+XXXX]` text when a mail client drops the style. */
const hiddenHtml = (name: string) =>
  `<span style="padding:0 2px;border:1px solid #c0392b;border-radius:3px;color:#a3261a;background:#fff0ee;font-family:monospace">[${name}]</span>`;
const htmlText = (value: unknown) => markHidden(escapeHtml(value), hiddenHtml);
const htmlLine = (value: unknown) => oneLine(escapeHtml(value), hiddenHtml);

/** "analyst-bot, model some-llm, run r-42": the agent as the agent described itself. */
function describeAgent(agent: ApprovalState['request']['agent']): string | undefined {
  return agent ? [agent.name, agent.model && `model ${agent.model}`, agent.runId && `run ${agent.runId}`].filter(Boolean).join(', ') : undefined;
}

/** "29 Nov 2026, 21:43 UTC (58 minutes left)": the expiry as a person reads it, with the time left at sending. */
export function expiryWords(expiresAt: string | undefined, now: Date): string | undefined {
  if (expiresAt === undefined) return undefined;
  const when = formatUtc(expiresAt);
  if (!when) return expiresAt;
  return `${when} (${timeLeftWords(new Date(expiresAt).getTime() - now.getTime())} when this was sent)`;
}

function line(label: string, value: unknown): string | undefined {
  return value === undefined || value === '' ? undefined : `${label.padEnd(14)}${oneLine(String(value))}`;
}

export function approvalRequestText(state: ApprovalState, reviewUrl: string, now: Date = new Date()): { subject: string; text: string } {
  const { request, policy } = state;
  const agent = describeAgent(request.agent);
  const lines = [
    `${oneLine(state.requester)} asks for approval to run ${oneLine(request.action)}.`,
    '',
    line('Action', request.action),
    line('Resource', request.resource),
    line('Environment', request.environment),
    line('Requester', state.requester),
    line('On behalf of', request.onBehalfOf),
    line('Agent', agent),
    line('Rule', policy?.rule),
    line('Approvals', policy ? `${policy.requiredApprovals} needed` : undefined),
    line('Expires', expiryWords(policy?.expiresAt, now)),
    '',
    'Parameters:',
    markHidden(JSON.stringify(request.parameters ?? {}, null, 2)),
    '',
    ...(request.justification !== undefined
      ? // Quoted line by line: the agent's lines cannot pass for ours (a second "Review and decide" link).
        [
          'Justification (supplied by the agent, not verified):',
          ...markHidden(request.justification)
            .split('\n')
            .map((l) => `> ${l}`),
          '',
        ]
      : []),
    ...(policy?.grant ? [grantOfferWords(policy.grant), ''] : []),
    `Review and decide: ${reviewUrl}`,
    '',
    'This link is personal: it records your decision under your name. Do not forward it.',
  ].filter((l): l is string => l !== undefined);
  // Subjects are one line: agent text must not inject headers or fake a second line.
  const subject = oneLine(`Approval requested: ${request.action}${request.environment ? ` in ${request.environment}` : ''}`);
  return { subject, text: lines.join('\n') };
}

/**
 * The same context as HTML for email clients: every value escaped, one link (the review page), no images, no
 * tracking, nothing remote. Plain inline styles only, since mail clients strip the rest.
 */
export function approvalRequestHtml(state: ApprovalState, reviewUrl: string, now: Date = new Date()): string {
  const { request, policy } = state;
  const row = (label: string, value: unknown) =>
    value === undefined || value === ''
      ? ''
      : `<tr><th align="left" style="padding:4px 12px 4px 0;color:#555;font-weight:normal;vertical-align:top;white-space:nowrap">${escapeHtml(label)}</th><td style="padding:4px 0;word-break:break-word;overflow-wrap:anywhere">${htmlLine(value)}</td></tr>`;
  const agent = describeAgent(request.agent);
  const href = safeHref(reviewUrl);
  const expires = expiryWords(policy?.expiresAt, now);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${oneLine(escapeHtml(`Approval requested: ${request.action}`))}</title></head>
<body style="font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1d2330;max-width:640px;margin:0 auto;padding:8px;overflow-wrap:anywhere;word-break:break-word">
<p>${htmlLine(state.requester)} asks for approval to run <code>${htmlLine(request.action)}</code>.</p>
${expires ? `<p data-testid="expires"><b>Expires</b> ${htmlLine(expires)}</p>` : ''}
<table style="border-collapse:collapse;width:100%;table-layout:fixed">
${row('Action', request.action)}${row('Resource', request.resource)}${row('Environment', request.environment)}${row('Requester', state.requester)}${row('On behalf of', request.onBehalfOf)}${row('Agent', agent)}${row('Rule', policy?.rule)}${row('Approvals', policy ? `${policy.requiredApprovals} needed` : undefined)}
</table>
<p style="margin-bottom:4px"><b>Parameters</b></p>
<pre style="background:#f5f6f8;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere">${htmlText(JSON.stringify(request.parameters ?? {}, null, 2))}</pre>
${request.justification !== undefined ? `<p style="margin-bottom:4px"><b>Justification</b> <i>(supplied by the agent, not verified)</i></p><blockquote style="margin:0;padding:8px;border-left:3px solid #d4a017;background:#fffaf0;white-space:pre-wrap">${htmlText(request.justification)}</blockquote>` : ''}
${policy?.grant ? `<p data-testid="grant-offer">${escapeHtml(grantOfferWords(policy.grant))}</p>` : ''}
${href ? `<p><a href="${escapeHtml(href)}" style="display:inline-block;padding:10px 16px;background:#1f6f43;color:#fff;text-decoration:none;border-radius:6px">Review and decide</a></p>` : ''}
<p style="color:#666;font-size:13px">This link is personal: it records your decision under your name. Do not forward it. This is an automated message; replies are not read.</p>
</body></html>`;
}
