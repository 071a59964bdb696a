/**
 * The Slack channel's domain: the Block Kit messages Countersign posts and the bodies it sends back through an
 * interaction's response_url, Slack's v0 request signature, the interaction payload's schema, and the binding from a
 * Slack user to an approver. Pure: no network, no AWS.
 *
 * Escaping design. Every agent-supplied value (and every identity, rule name or reason) goes into `plain_text` text
 * objects with `emoji: false`: Slack parses neither mrkdwn, links, mentions nor dates there, so `<!channel>`,
 * `<@U123>`, `<https://evil|click>` and `*bold*` show as typed. `mrkdwn` carries only labels Countersign writes itself.
 * The one place where Slack always parses mrkdwn on text we fill in is the message's top-level `text` (the
 * notification fallback, and ephemeral messages); there each value goes through `escapeMrkdwn`. Both mark hidden
 * characters (bidi overrides, zero-width and tag characters, controls) as `[U+XXXX]` after escaping.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ApprovalState, statusOf, type Vote } from './approval';
import type { Config } from './config';
import { formatUtc, timeLeftWords } from './dates';
import { grantChoices, grantLengthWords } from './grant';
import { identityDirectory } from './identity';
import { markHidden } from './text';
import * as z from './zod';

export const SLACK_APPROVE_ACTION = 'countersign_approve';
export const SLACK_DENY_ACTION = 'countersign_deny';
/**
 * Approve for a while (a grant), where the rule allows it: `countersign_approve_for_<n>`, one per length offered (an
 * action id is unique in its block), each button's value `<request id>|<for>`.
 */
export const SLACK_APPROVE_FOR_ACTION = 'countersign_approve_for';
/** A link button still sends an interaction, which is acknowledged and otherwise ignored. */
export const SLACK_REVIEW_ACTION = 'countersign_review';

/** Block Kit limits (docs.slack.dev/reference/block-kit). */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonUrl: 3000,
  buttonValue: 2000,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Text

/**
 * Look-alikes for mrkdwn's formatting characters. Replacing them (rather than inserting zero-width characters, which
 * Slack treats as word boundaries and can make formatting *start*) leaves nothing for the parser to act on.
 */
const FORMATTING_LOOKALIKES: Readonly<Record<string, string>> = {
  '*': '\u2217', // ∗ asterisk operator
  _: '\u02CD', // ˍ modifier letter low macron
  '~': '\u223C', // ∼ tilde operator
  '`': '\u02CB', // ˋ modifier letter grave accent
};

/**
 * Makes text inert in a mrkdwn context: `&`, `<` and `>` become the entities Slack documents (so no link, mention,
 * channel or date control sequence can form, nor a `>` quote), and `* _ ~ \`` become look-alikes (no bold, italic,
 * strike or code). The text still reads the same. Then each hidden character (core/text.ts) is marked `[U+XXXX]`.
 */
export function escapeMrkdwn(text: string): string {
  return markHidden(text.replace(/[&<>*_~`]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : FORMATTING_LOOKALIKES[c]!)));
}

/**
 * Cuts text to at most `max` UTF-16 units (never splitting a surrogate pair, nor a `[U+XXXX]` hidden-character
 * marker), saying visibly that it was cut. Slack counts characters, so a UTF-16 bound is never over the limit.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = ` … [truncated: ${text.length} characters; open Review for the full text]`;
  let cut = Math.max(0, max - note.length);
  const code = text.charCodeAt(cut);
  if (cut > 0 && code >= 0xdc00 && code <= 0xdfff) cut--; // a low surrogate: keep the pair together
  const marker = /\[(?:U(?:\+[0-9A-F]{0,6})?)?$/.exec(text.slice(Math.max(0, cut - 9), cut));
  if (marker) cut -= marker[0].length; // a marker cut in half would read as the agent's text
  return text.slice(0, cut) + note;
}

export interface PlainText {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji: false;
}
export interface MrkdwnText {
  readonly type: 'mrkdwn';
  readonly text: string;
  readonly verbatim: true;
}
export type SlackText = PlainText | MrkdwnText;

/**
 * A plain_text object: the only kind agent-supplied text goes in. Slack parses nothing there, so nothing needs
 * escaping, but it shows hidden characters as they are: each is marked `[U+XXXX]` (core/text.ts). Slack rejects
 * empty text, so "" becomes "-".
 */
export function plain(text: string, max: number = SLACK_LIMITS.sectionText): PlainText {
  return { type: 'plain_text', text: truncateText(text === '' ? '-' : markHidden(text), max), emoji: false };
}

/** mrkdwn for Countersign's own labels only; `verbatim` stops Slack from linkifying anything in them. */
function mrkdwn(text: string): MrkdwnText {
  return { type: 'mrkdwn', text, verbatim: true };
}

/**
 * A moment for mrkdwn: Slack's date token, which each reader's Slack shows in their own time zone ("Today 22:43"), with
 * the one format of core/dates.ts ("29 Nov 2026, 21:43 UTC") where Slack cannot. Text that is no date is escaped.
 */
export function slackDate(iso: string): string {
  const utc = formatUtc(iso);
  if (!utc) return escapeMrkdwn(iso);
  return `<!date^${Math.floor(new Date(iso).getTime() / 1000)}^{date_short_pretty} {time}|${utc}>`;
}

/** When a pending request expires, for mrkdwn: the date, and with `now` the time left then ("58 minutes left when this was sent"). */
function expiryMrkdwn(state: ApprovalState, now: Date | undefined, when: string): string | undefined {
  const expiresAt = state.policy?.expiresAt;
  if (!expiresAt) return undefined;
  const at = new Date(expiresAt).getTime();
  const left = now && statusOf(state) === 'pending' && !Number.isNaN(at) ? ` (${timeLeftWords(at - now.getTime())} when this was ${when})` : '';
  return `${slackDate(expiresAt)}${left}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

export type SlackBlock = Record<string, unknown> & { readonly type: string };

/** The body of chat.postMessage (docs.slack.dev/reference/methods/chat.postMessage). */
export interface SlackPostMessage {
  readonly channel: string;
  readonly text: string;
  readonly blocks: SlackBlock[];
  readonly unfurl_links: false;
  readonly unfurl_media: false;
}

/** A body for an interaction's response_url: replace the original message, or answer only the clicking user. */
export interface SlackReplaceMessage {
  readonly replace_original: true;
  readonly text: string;
  readonly blocks: SlackBlock[];
}
export interface SlackEphemeralMessage {
  readonly response_type: 'ephemeral';
  readonly replace_original: false;
  readonly text: string;
}
export type SlackResponseBody = SlackReplaceMessage | SlackEphemeralMessage;

function agentLine(state: ApprovalState): string | undefined {
  const agent = state.request.agent;
  if (!agent) return undefined;
  const parts = [agent.name, agent.model && `model ${agent.model}`, agent.runId && `run ${agent.runId}`].filter((p): p is string => !!p);
  return parts.length ? parts.join(', ') : undefined;
}

/** A fact value Countersign writes itself in mrkdwn (a date token), never anyone else's text. */
interface OwnMrkdwn {
  readonly mrkdwn: string;
}

/**
 * Label/value rows: the label in mrkdwn (ours), the value in plain_text (anyone's) or, for Countersign's own words
 * such as a date, mrkdwn; two fields per row.
 */
function factSections(rows: ReadonlyArray<readonly [string, string | OwnMrkdwn | undefined]>): SlackBlock[] {
  const fields = rows
    .filter((row): row is readonly [string, string | OwnMrkdwn] => row[1] !== undefined && row[1] !== '')
    .flatMap(([label, value]) => [mrkdwn(`*${label}*`), typeof value === 'string' ? plain(value, SLACK_LIMITS.fieldText) : mrkdwn(value.mrkdwn)]);
  const sections: SlackBlock[] = [];
  for (let i = 0; i < fields.length; i += SLACK_LIMITS.fields) sections.push({ type: 'section', fields: fields.slice(i, i + SLACK_LIMITS.fields) });
  return sections;
}

function approvalsGiven(state: ApprovalState): string[] {
  return [...new Set(state.votes.filter((v) => v.decision === 'approve').map((v) => v.approver))];
}

function requestFacts(state: ApprovalState, now?: Date, when = 'sent'): SlackBlock[] {
  const { request, policy } = state;
  const needed = policy?.requiredApprovals;
  const expires = expiryMrkdwn(state, now, when);
  return factSections([
    ['Action', request.action],
    ['Resource', request.resource],
    ['Environment', request.environment],
    ['Requester', state.requester],
    ['On behalf of', request.onBehalfOf],
    ['Agent', agentLine(state)],
    ['Rule', policy?.rule],
    ['Approvals', needed === undefined ? undefined : `${approvalsGiven(state).length} of ${needed} given`],
    ['Expires', expires === undefined ? undefined : { mrkdwn: expires }],
  ]);
}

function votesContext(votes: readonly Vote[]): SlackBlock[] {
  if (votes.length === 0) return [];
  const lines = votes.map(
    (v) =>
      `${v.approver} ${v.decision === 'approve' ? 'approved' : 'denied'}${v.forSeconds ? ` for ${grantLengthWords(v.forSeconds)}` : ''}${v.reason ? `: ${v.reason}` : ''}`,
  );
  return [{ type: 'context', elements: [plain(`Votes so far: ${lines.join('; ')}`)] }];
}

function fallbackText(state: ApprovalState): string {
  const env = state.request.environment ? ` in ${state.request.environment}` : '';
  return escapeMrkdwn(`Approval requested: ${state.request.action}${env}, asked by ${state.requester}`);
}

/** The full request as blocks, with the buttons while it is pending. */
function requestBlocks(state: ApprovalState, reviewUrl: string, now?: Date, when?: string): SlackBlock[] {
  const { request } = state;
  const blocks: SlackBlock[] = [
    { type: 'header', text: plain(`Approval requested: ${request.action}`, SLACK_LIMITS.headerText) },
    { type: 'section', text: plain(`${state.requester} asks for approval to run ${request.action}.`) },
    ...requestFacts(state, now, when),
    { type: 'section', text: mrkdwn('*Parameters*') },
    { type: 'section', text: plain(JSON.stringify(request.parameters ?? {}, null, 2)) },
  ];
  if (request.justification !== undefined && request.justification !== '') {
    blocks.push(
      { type: 'section', text: mrkdwn('*Justification* _(supplied by the agent, not verified)_') },
      { type: 'section', text: plain(request.justification) },
    );
  }
  blocks.push(...votesContext(state.votes));
  blocks.push({
    type: 'actions',
    elements: [
      { type: 'button', action_id: SLACK_APPROVE_ACTION, text: plain('Approve', SLACK_LIMITS.buttonText), style: 'primary', value: state.id },
      ...grantButtons(state),
      { type: 'button', action_id: SLACK_DENY_ACTION, text: plain('Deny', SLACK_LIMITS.buttonText), style: 'danger', value: state.id },
      ...(reviewUrl.length <= SLACK_LIMITS.buttonUrl
        ? [{ type: 'button', action_id: SLACK_REVIEW_ACTION, text: plain('Review', SLACK_LIMITS.buttonText), url: reviewUrl }]
        : []),
    ],
  });
  const grant = state.policy?.grant;
  blocks.push({
    type: 'context',
    elements: [
      plain(
        `Request ${state.id}. Approve and Deny record your decision as the Countersign approver linked to your Slack account.${
          grant
            ? ` Approve is for this call only; "Approve for" also approves later requests by ${state.requester} that rule ${state.policy!.rule} decides, with the same ${grant.scope.join(', ')}, without asking, until that time has passed (an approver of the rule or an auditor can revoke it).`
            : ''
        }`,
      ),
    ],
  });
  return blocks;
}

/** The "Approve for" buttons, where the rule offers grants: the shortest length offered and the rule's maxFor. */
function grantButtons(state: ApprovalState): SlackBlock[] {
  const offer = state.policy?.grant;
  if (!offer) return [];
  const choices = grantChoices(offer.maxForSeconds);
  const shown = choices.length > 1 ? [choices[0]!, choices.at(-1)!] : choices;
  return shown.map((choice, i) => ({
    type: 'button',
    action_id: `${SLACK_APPROVE_FOR_ACTION}_${i}`,
    text: plain(`Approve for ${choice.words}`, SLACK_LIMITS.buttonText),
    value: `${state.id}|${choice.for}`,
  }));
}

/** A click's decision, request id and `for` from its action: Approve, Deny or Approve for; undefined for anything else. */
export function slackClick(action: {
  readonly action_id: string;
  readonly value?: string | undefined;
}): { readonly decision: 'approve' | 'deny'; readonly requestId: string; readonly for?: string } | undefined {
  const value = action.value ?? '';
  if (action.action_id === SLACK_APPROVE_ACTION) return { decision: 'approve', requestId: value };
  if (action.action_id === SLACK_DENY_ACTION) return { decision: 'deny', requestId: value };
  if (!action.action_id.startsWith(`${SLACK_APPROVE_FOR_ACTION}_`)) return undefined;
  const bar = value.lastIndexOf('|');
  return bar < 0 ? { decision: 'approve', requestId: value, for: '' } : { decision: 'approve', requestId: value.slice(0, bar), for: value.slice(bar + 1) };
}

/**
 * The chat.postMessage body asking approvers to decide: the whole context, Approve, Deny and a Review link. With
 * `now`, the expiry says how long was left when it was sent.
 */
export function approvalRequestMessage(
  state: ApprovalState,
  opts: { readonly reviewUrl: string; readonly channel: string; readonly now?: Date },
): SlackPostMessage {
  return {
    channel: opts.channel,
    text: fallbackText(state),
    blocks: requestBlocks(state, opts.reviewUrl, opts.now, 'sent'),
    unfurl_links: false,
    unfurl_media: false,
  };
}

/** The replacement for the request message after a vote that did not settle it: same buttons, votes so far shown. */
export function progressMessage(state: ApprovalState, reviewUrl: string, now?: Date): SlackReplaceMessage {
  return { replace_original: true, text: fallbackText(state), blocks: requestBlocks(state, reviewUrl, now, 'updated') };
}

/** Who settled a request, from its votes: the approvers who approved it, or the one who denied it. */
export function decidersOf(state: ApprovalState): string[] {
  if (state.outcome?.status === 'approved') return approvalsGiven(state);
  if (state.outcome?.status === 'denied') {
    const deny = state.votes.find((v) => v.decision === 'deny');
    return deny ? [deny.approver] : [];
  }
  return [];
}

const OUTCOME_WORD = { pending: 'Pending', approved: 'Approved', denied: 'Denied', expired: 'Expired', cancelled: 'Cancelled' } as const;

/** What settled it, in words; the names come from `decidedBy` (default: the deciding votes). */
function outcomeLine(state: ApprovalState, decidedBy: readonly string[]): string {
  const status = statusOf(state);
  const who = decidedBy.length ? ` by ${decidedBy.join(', ')}` : '';
  const reason = state.outcome?.reason ? ` Reason: ${state.outcome.reason}` : '';
  switch (status) {
    case 'approved':
      return `Approved${state.outcome?.decidedBy === 'policy' ? ' by policy' : who}.${reason}`;
    case 'denied':
      return `Denied${state.outcome?.decidedBy === 'policy' ? ' by policy' : who}.${reason}`;
    case 'expired': {
      const deadline = state.policy?.expiresAt;
      return `Expired: nobody decided before ${deadline ? (formatUtc(deadline) ?? deadline) : 'the deadline'}. The action was not approved.`;
    }
    case 'cancelled':
      return `Cancelled by the requester, ${state.requester}.`;
    default:
      return 'Still pending.';
  }
}

/**
 * The replacement for the request message once it is settled (response_url, `replace_original`): the outcome, who
 * decided, what was decided on, and no buttons.
 */
export function outcomeMessage(state: ApprovalState, decidedBy: readonly string[] = decidersOf(state)): SlackReplaceMessage {
  const status = statusOf(state);
  const line = outcomeLine(state, decidedBy);
  const blocks: SlackBlock[] = [
    { type: 'header', text: plain(`${OUTCOME_WORD[status]}: ${state.request.action}`, SLACK_LIMITS.headerText) },
    // The expired line is Countersign's own words and a date, shown in each reader's time zone; any other line may hold a reason.
    status === 'expired' && state.policy?.expiresAt
      ? { type: 'section', text: mrkdwn(`Expired: nobody decided before ${slackDate(state.policy.expiresAt)}. The action was not approved.`) }
      : { type: 'section', text: plain(line) },
    ...(state.grant
      ? [
          {
            type: 'section',
            text: mrkdwn(
              `*Approved for a while:* later requests by the same requester that this rule decides, with the same ${escapeMrkdwn(
                Object.keys(state.grant.scope).join(', '),
              )}, are approved without asking until ${slackDate(state.grant.until)} (grant ${escapeMrkdwn(state.grant.id)}).`,
            ),
          },
        ]
      : []),
    ...requestFacts(state),
    ...votesContext(state.votes),
    {
      type: 'context',
      elements: [mrkdwn(`Request ${escapeMrkdwn(state.id)}${state.outcome ? `, settled ${slackDate(state.outcome.at)}` : ''}.`)],
    },
  ];
  return { replace_original: true, text: escapeMrkdwn(`${line} (${state.request.action}, request ${state.id})`), blocks };
}

/** A message only the clicking user sees, leaving the original message as it is. The text is escaped. */
export function ephemeralMessage(text: string): SlackEphemeralMessage {
  return { response_type: 'ephemeral', replace_original: false, text: escapeMrkdwn(text) };
}

// ---------------------------------------------------------------------------------------------------------------
// Requests from Slack

/** How far Slack's request timestamp may be from our clock, either way (Slack's documented replay window). */
export const SLACK_SIGNATURE_MAX_AGE_SECONDS = 5 * 60;

export interface SlackSignatureInput {
  readonly signingSecret: string;
  /** `X-Slack-Request-Timestamp`: Unix seconds. */
  readonly timestamp: string | undefined;
  /** `X-Slack-Signature`: `v0=` and the hex HMAC. */
  readonly signature: string | undefined;
  /** The raw request body, exactly as received. */
  readonly body: string;
  readonly now: Date;
}

/** Slack's v0 request signature: HMAC-SHA256 over `v0:{timestamp}:{body}`, within five minutes of now. */
export function verifySlackSignature({ signingSecret, timestamp, signature, body, now }: SlackSignatureInput): boolean {
  if (!signingSecret || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > SLACK_SIGNATURE_MAX_AGE_SECONDS) return false;
  if (!signature.startsWith('v0=')) return false;
  const expected = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`, 'utf8').digest('hex')}`, 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual throws on unequal lengths; the length of a well-formed signature is public anyway.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The one field every interaction payload has: which kind it is. */
export const slackPayloadKindSchema = z.looseObject({ type: z.string() });

const slackActionSchema = z.looseObject({
  action_id: z.string().check(z.minLength(1), z.maxLength(255)),
  value: z.optional(z.string().check(z.maxLength(2000))),
  type: z.optional(z.string()),
  block_id: z.optional(z.string()),
  action_ts: z.optional(z.string()),
});

/** A `block_actions` interaction payload (docs.slack.dev/reference/interaction-payloads/block_actions-payload); loose on what we do not use. */
export const slackBlockActionsSchema = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({
    id: z.string().check(z.minLength(1)),
    username: z.optional(z.string()),
    name: z.optional(z.string()),
    team_id: z.optional(z.string()),
  }),
  team: z.optional(z.nullable(z.looseObject({ id: z.string(), domain: z.optional(z.string()) }))),
  api_app_id: z.optional(z.string()),
  container: z.optional(z.looseObject({ type: z.string() })),
  channel: z.optional(z.nullable(z.looseObject({ id: z.string() }))),
  message: z.optional(z.looseObject({ ts: z.optional(z.string()), blocks: z.optional(z.array(z.unknown())) })),
  response_url: z.optional(z.string()),
  trigger_id: z.optional(z.string()),
  actions: z.array(slackActionSchema).check(z.minLength(1)),
});
export type SlackBlockActions = z.infer<typeof slackBlockActionsSchema>;

/** The Review button's URL in the message a click came from, so an update keeps the link the message was sent with. */
export function reviewUrlOf(message: SlackBlockActions['message']): string | undefined {
  for (const block of message?.blocks ?? []) {
    const elements = (block as { type?: unknown; elements?: unknown }).type === 'actions' ? (block as { elements?: unknown }).elements : undefined;
    if (!Array.isArray(elements)) continue;
    for (const element of elements as Array<{ action_id?: unknown; url?: unknown }>) {
      if (element.action_id === SLACK_REVIEW_ACTION && typeof element.url === 'string' && /^https?:\/\//.test(element.url)) return element.url;
    }
  }
  return undefined;
}

/**
 * The approver a Slack user is, through the `slackUserId` binding on group members only (what Slack says about a
 * user's name or email is never trusted). The config check refuses one Slack user bound to two people.
 */
export function approverForSlackUser(config: Pick<Config, 'groups'>, slackUserId: string): string | undefined {
  return identityDirectory(config).personOfSlackUser(slackUserId);
}

/** The Slack users bound to a person (e.g. to DM approvers, or a requester), under any of their aliases. */
export function slackUsersOf(config: Pick<Config, 'groups'>, identity: string): string[] {
  return identityDirectory(config).slackUsersOf(identity);
}
