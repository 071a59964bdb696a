/**
 * The Microsoft Teams channel message: an Adaptive Card (schema 1.5) posted to a channel through a Workflows
 * webhook. Pure: it takes a request's state and answers the exact webhook body.
 *
 * A channel card does not know who clicks it, so it carries no personal review token: its one action opens the
 * request's landing page, which first establishes the approver's identity (sign-in, or an emailed personal link).
 *
 * Teams renders TextBlock text and FactSet titles and values as (a subset of) Markdown, and most of what the card
 * shows is agent-supplied. Every value is therefore backslash-escaped so that agent text can create no link,
 * formatting, list or date substitution; hidden characters (core/text.ts) are then marked `[U+XXXX]`.
 */
import { type ApprovalState, statusOf } from './approval';
import { formatUtc } from './dates';
import { grantOfferWords } from './grant';
import { expiryWords } from './notification';
import { markHidden } from './text';
import * as z from './zod';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

/** Visible limits, in characters, before a value is cut with a marker saying so (the review page shows all). */
export const CARD_LIMITS = { fact: 300, parameters: 1500, parameterLines: 20, justification: 1000 } as const;

const adaptiveCardSchema = z.looseObject({
  $schema: z.literal(ADAPTIVE_CARD_SCHEMA),
  type: z.literal('AdaptiveCard'),
  version: z.literal('1.5'),
  body: z.array(z.looseObject({ type: z.string() })).check(z.minLength(1)),
  actions: z.optional(z.array(z.looseObject({ type: z.string() }))),
});

/** The body a Teams Workflows webhook ("When a Teams webhook request is received") takes. */
export const teamsMessageSchema = z.strictObject({
  type: z.literal('message'),
  attachments: z
    .array(z.strictObject({ contentType: z.literal(ADAPTIVE_CARD_CONTENT_TYPE), contentUrl: z.null(), content: adaptiveCardSchema }))
    .check(z.minLength(1)),
});
export type TeamsMessage = z.infer<typeof teamsMessageSchema>;

/** The request's landing page: the only URL a channel card may carry (it identifies nobody). */
export function requestLandingUrl(publicUrl: string, requestId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/v1/actions/${encodeURIComponent(requestId)}/review`;
}

/**
 * Characters that mean something to Teams' Markdown (emphasis, links, images, code, lists, headings, tables,
 * entities) or to its linkifier (`:` of a scheme, `.` of a domain), or open a `{{DATE()}}` substitution. CommonMark
 * lets any ASCII punctuation be backslash-escaped and shows it literally, so escaping changes nothing a reader sees.
 */
const MARKDOWN_SIGNIFICANT = /[\\`*_{}[\]()#+\-.!<>|~&:=]/g;

/**
 * Makes agent text inert in an Adaptive Card TextBlock or Fact: no link, formatting, list or substitution. Escaped
 * first, then each hidden character (core/text.ts) is marked `[U+XXXX]`: the marker is ours, and the brackets alone
 * form no link (every `(` and `]` the agent wrote is escaped).
 */
export function escapeTeamsMarkdown(text: string): string {
  return markHidden(text.replace(/\r\n?/g, '\n').replace(MARKDOWN_SIGNIFICANT, (c) => `\\${c}`));
}

/** Cuts at a code point boundary; `omitted` counts what was left out. */
function cut(text: string, limit: number): { text: string; omitted: number } {
  const chars = Array.from(text);
  return chars.length <= limit ? { text, omitted: 0 } : { text: chars.slice(0, limit).join(''), omitted: chars.length - limit };
}

/** Escaped agent text, cut visibly at `limit` characters (the marker is ours, so it is not escaped). */
function inert(text: string, limit: number): string {
  const { text: kept, omitted } = cut(text, limit);
  return escapeTeamsMarkdown(kept) + (omitted > 0 ? ` … (cut: ${omitted} more characters; the review page shows everything)` : '');
}

/**
 * Parameters as monospace lines, `"key": <compact JSON>`, one per top-level key: Markdown collapses indentation, so
 * pretty-printed JSON would not survive; lines are separated by a blank line, the break Teams keeps.
 */
function parameterText(parameters: Record<string, unknown> | undefined): string {
  const entries = Object.entries(parameters ?? {});
  if (entries.length === 0) return 'No parameters.';
  let budget = CARD_LIMITS.parameters;
  const lines: string[] = [];
  for (const [key, value] of entries.slice(0, CARD_LIMITS.parameterLines)) {
    if (budget <= 0) break;
    const line = `${JSON.stringify(key)}: ${JSON.stringify(value) ?? 'null'}`;
    lines.push(inert(line, budget));
    budget -= Array.from(line).length;
  }
  const hidden = entries.length - lines.length;
  if (hidden > 0) lines.push(`… and ${hidden} more parameter${hidden === 1 ? '' : 's'} (the review page shows everything)`);
  return lines.join('\n\n');
}

/** A Fact is one line: newlines would start Markdown blocks, so they become spaces. */
function fact(title: string, value: string | undefined): Array<{ title: string; value: string }> {
  return value === undefined || value === '' ? [] : [{ title, value: inert(value.replace(/\s*[\r\n]+\s*/g, ' '), CARD_LIMITS.fact) }];
}

/** "29 Nov 2026, 21:43 UTC", and while pending with `now`, the time left when the card was sent. */
function expiryText(state: ApprovalState, now: Date | undefined): string | undefined {
  const expiresAt = state.policy?.expiresAt;
  if (!expiresAt) return undefined;
  if (now && statusOf(state) === 'pending') return expiryWords(expiresAt, now);
  return formatUtc(expiresAt) ?? expiresAt;
}

export interface ApprovalCardOptions {
  /** The request's landing page (see `requestLandingUrl`); never a personal review link. */
  readonly landingUrl: string;
  /** When the card is sent: the expiry then says how long was left. */
  readonly now?: Date;
}

/** The Workflows webhook body announcing a request that needs approval. */
export function approvalRequestCard(state: ApprovalState, options: ApprovalCardOptions): TeamsMessage {
  const { request, policy } = state;
  const agent = request.agent
    ? [request.agent.name, request.agent.model && `model ${request.agent.model}`, request.agent.runId && `run ${request.agent.runId}`]
        .filter(Boolean)
        .join(', ')
    : undefined;
  const pending = statusOf(state) === 'pending';
  const body = [
    { type: 'TextBlock', text: 'Countersign · approval requested', size: 'Small', isSubtle: true, wrap: true },
    { type: 'TextBlock', text: escapeTeamsMarkdown(request.action), size: 'Large', weight: 'Bolder', fontType: 'Monospace', wrap: true, style: 'heading' },
    {
      type: 'FactSet',
      facts: [
        ...fact('Action', request.action),
        ...fact('Resource', request.resource),
        ...fact('Environment', request.environment),
        ...fact('Requester', state.requester),
        ...fact('On behalf of', request.onBehalfOf),
        ...fact('Agent', agent),
        ...fact('Rule', policy?.rule),
        ...fact('Approvals needed', policy ? String(policy.requiredApprovals) : undefined),
        ...fact('Expires', expiryText(state, options.now)),
        ...(pending ? [] : fact('Status', statusOf(state))),
      ],
    },
    { type: 'TextBlock', text: 'Parameters', weight: 'Bolder', spacing: 'Medium', wrap: true },
    { type: 'TextBlock', text: parameterText(request.parameters), fontType: 'Monospace', wrap: true },
    { type: 'TextBlock', text: 'Justification (supplied by the agent, not verified)', weight: 'Bolder', color: 'Warning', spacing: 'Medium', wrap: true },
    request.justification
      ? { type: 'TextBlock', text: inert(request.justification, CARD_LIMITS.justification), wrap: true }
      : { type: 'TextBlock', text: 'No justification was given.', isSubtle: true, wrap: true },
    // A card cannot vote, for a while or at all: it says what the review page offers.
    ...(policy?.grant && pending ? [{ type: 'TextBlock', text: escapeTeamsMarkdown(grantOfferWords(policy.grant)), wrap: true, spacing: 'Medium' }] : []),
    {
      type: 'TextBlock',
      text: 'This card does not know who opens it: the review page first asks approvers to sign in or to have their personal review link emailed to them.',
      size: 'Small',
      isSubtle: true,
      wrap: true,
      spacing: 'Medium',
    },
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        contentUrl: null,
        content: {
          $schema: ADAPTIVE_CARD_SCHEMA,
          type: 'AdaptiveCard',
          version: '1.5',
          body,
          actions: [{ type: 'Action.OpenUrl', title: 'Review and decide', url: options.landingUrl }],
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}
