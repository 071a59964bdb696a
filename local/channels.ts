/**
 * Local stand-ins for the services Countersign notifies through, each on a loopback port of its own and each checking
 * a request as the real service does, so the functions run their production delivery code unchanged:
 *
 * - **SES v2** (the functions' SDK reaches it through AWS_ENDPOINT_URL_SESV2): `POST /v2/email/outbound-emails`,
 *   SendEmail in its REST-JSON shape with `Content.Simple`, answered `{"MessageId"}`; a request SES would refuse gets
 *   SES's error (`BadRequestException`, 400; `MessageRejected` for a sender other than `channels.email.from`).
 * - **Slack's Web API** (the functions' Slack API base): `POST /api/chat.postMessage` with the bot token as a bearer,
 *   answered `{"ok": true, "channel", "ts"}` or Slack's `{"ok": false, "error"}` (`not_authed`, `invalid_auth`,
 *   `channel_not_found`, `no_text`, `invalid_json`). It also serves response URLs: a simulated interaction may name
 *   `<slack>/actions/<anything>` as its response_url; what Countersign posts there is kept, and a GET of the same URL
 *   answers the list of bodies posted to it, oldest first.
 * - **a Teams Workflows webhook** (the value local mode gives the secret `channels.teams.webhookUrl` names): a
 *   `POST` of a message with attachments to its URL, answered 202 as Workflows does.
 *
 * Each message delivered is kept in the local inbox in the shape the functions' outbox describes
 * (`outgoingMessageSchema`): for email the request comes from the `X-Countersign-Request` header and the review link
 * from the text's `Review and decide:` line; for Slack and Teams, `payload` is the exact body received, and the
 * request and link are read from its buttons. With fault injection on, a rule for `email`, `slack` or `teams`
 * (operation `Send`) fails the delivery with the rule's status.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { z } from 'zod';
import { REQUEST_EMAIL_HEADER } from '../lambdas/adapters/outbox';
import type { OutgoingMessage } from '../lambdas/core/notification';
import { closeServer, createServer, listenLoopback } from './aws-json';
import type { FaultService, LocalFaults } from './faults';
import type { LocalInbox } from './inbox';

export interface LocalChannelsOptions {
  readonly inbox: LocalInbox;
  /** The address SES may send from (the verified identity: `channels.email.from`), read per call. */
  readonly emailSender: () => string | undefined;
  /** The bot token Slack accepts (the value the functions have for `channels.slack.botToken`), read per call. */
  readonly slackToken: () => string | undefined;
  readonly faults?: LocalFaults;
}

export interface LocalChannels {
  /** Base URL of the SES v2 endpoint (AWS_ENDPOINT_URL_SESV2). */
  readonly ses: string;
  /** Base URL of the Slack Web API (`…/api`), the functions' Slack API base. */
  readonly slackApi: string;
  /** The Teams webhook URL. */
  readonly teamsWebhook: string;
  close(): Promise<void>;
}

/** Largest body any of them reads. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Response URLs kept, and bodies kept per response URL: a bound on memory, far beyond what a test posts. */
const MAX_RESPONSE_URLS = 1000;
const MAX_RESPONSES_PER_URL = 100;

export async function startLocalChannels(options: LocalChannelsOptions): Promise<LocalChannels> {
  const servers: Server[] = [];
  try {
    const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
      const server = createServer((req, res) => {
        handler(req, res).catch((err: unknown) => {
          console.error('[local channels] internal error:', err);
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'internal error in the local endpoint' }));
        });
      });
      servers.push(server);
      // No web page may post here: only the functions (and tests) do.
      return listenLoopback(server);
    };
    const ses = await listen(sesHandler(options));
    const slack = await listen(slackHandler(options));
    const teamsPath = `/workflows/${randomUUID()}`;
    const teams = await listen(teamsHandler(options, teamsPath));
    return {
      ses,
      slackApi: `${slack}/api`,
      teamsWebhook: `${teams}${teamsPath}`,
      close: async () => {
        for (const server of servers) await closeServer(server);
      },
    };
  } catch (err) {
    for (const server of servers) await closeServer(server);
    throw err;
  }
}

// --- SES v2 ------------------------------------------------------------------------------------------------------

const sesContent = z.object({ Data: z.string(), Charset: z.string().optional() });

/** SendEmail's input as the SESv2 REST-JSON protocol sends it (only `Content.Simple` is served locally). */
export const sendEmailInputSchema = z.object({
  FromEmailAddress: z.string().min(1),
  FromEmailAddressIdentityArn: z.string().optional(),
  Destination: z.object({
    ToAddresses: z.array(z.string().min(1)).optional(),
    CcAddresses: z.array(z.string().min(1)).optional(),
    BccAddresses: z.array(z.string().min(1)).optional(),
  }),
  ReplyToAddresses: z.array(z.string()).optional(),
  FeedbackForwardingEmailAddress: z.string().optional(),
  FeedbackForwardingEmailAddressIdentityArn: z.string().optional(),
  Content: z.object({
    Simple: z.object({
      Subject: sesContent,
      Body: z.object({ Text: sesContent.optional(), Html: sesContent.optional() }).refine((b) => b.Text || b.Html, 'needs Text or Html'),
      Headers: z
        .array(z.object({ Name: z.string().min(1).max(126), Value: z.string().max(870) }))
        .max(15)
        .optional(),
    }),
  }),
  EmailTags: z.array(z.object({ Name: z.string(), Value: z.string() })).optional(),
  ConfigurationSetName: z.string().min(1).optional(),
  EndpointId: z.string().optional(),
});

class SesError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function sesHandler(options: LocalChannelsOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (req.method !== 'POST' || pathOf(req) !== '/v2/email/outbound-emails') {
        throw new SesError('NotFoundException', `local SES serves only POST /v2/email/outbound-emails (SendEmail), not ${req.method} ${pathOf(req)}`, 404);
      }
      // SES takes only signed requests (the SDK signs every call with the function's credentials).
      if (!/^AWS4-HMAC-SHA256 Credential=/.test(String(req.headers.authorization ?? ''))) {
        throw new SesError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      }
      const text = await readText(req);
      const fault = checkFault(options.faults, 'email', text);
      if (fault) throw new SesError(fault.type, fault.message, fault.status);
      const parsed = sendEmailInputSchema.safeParse(parseJson(text));
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
        throw new SesError('BadRequestException', `invalid SendEmail request: ${problems.join('; ')}`);
      }
      const input = parsed.data;
      const sender = options.emailSender();
      if (!sender || !sameSender(input.FromEmailAddress, sender)) {
        throw new SesError('MessageRejected', `Email address is not verified. The following identities failed the check: ${input.FromEmailAddress}`);
      }
      const to = [...(input.Destination.ToAddresses ?? []), ...(input.Destination.CcAddresses ?? []), ...(input.Destination.BccAddresses ?? [])];
      if (to.length === 0) throw new SesError('BadRequestException', 'Missing final destination: the email has no recipient');
      const { Subject, Body, Headers = [] } = input.Content.Simple;
      const actionId = Headers.find((h) => h.Name.toLowerCase() === REQUEST_EMAIL_HEADER.toLowerCase())?.Value ?? '';
      const body = Body.Text?.Data ?? '';
      const reviewUrl = reviewLinkOf(body);
      for (const address of to) {
        options.inbox.add({
          channel: 'email',
          to: address,
          subject: Subject.Data,
          text: body,
          ...(Body.Html ? { html: Body.Html.Data } : {}),
          actionId,
          ...(reviewUrl ? { reviewUrl } : {}),
        } satisfies OutgoingMessage);
      }
      res.setHeader('x-amzn-requestid', randomUUID());
      sendJson(res, 200, { MessageId: `local-${randomUUID()}` });
    } catch (err) {
      if (!(err instanceof SesError)) throw err;
      // REST-JSON errors: the type in X-Amzn-ErrorType, the message in the body.
      res.setHeader('x-amzn-errortype', err.type);
      res.setHeader('x-amzn-requestid', randomUUID());
      sendJson(res, err.status, { message: err.message });
    }
  };
}

/** SES accepts a sender that is the verified address itself or at the verified domain's. */
function sameSender(from: string, verified: string): boolean {
  const address = (/<([^>]+)>\s*$/.exec(from)?.[1] ?? from).trim().toLowerCase();
  const identity = verified.toLowerCase();
  return address === identity || address.split('@')[1] === identity.split('@')[1];
}

/** The review link of an approval email: its own `Review and decide:` line (an agent's lines are quoted with `> `). */
function reviewLinkOf(text: string): string | undefined {
  const links = [...text.matchAll(/^Review and decide: (\S+)$/gm)].map((m) => m[1]!);
  return links.at(-1);
}

// --- Slack -------------------------------------------------------------------------------------------------------

const postMessageSchema = z
  .object({
    channel: z.string().optional(),
    text: z.string().optional(),
    blocks: z.array(z.unknown()).optional(),
    attachments: z.array(z.unknown()).optional(),
  })
  .loose();

function slackHandler(options: LocalChannelsOptions) {
  const responses = new Map<string, unknown[]>();
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req);
    if (path.startsWith('/actions/')) return responseUrl(req, res, path, responses);
    if (!path.startsWith('/api/')) return sendJson(res, 404, { ok: false, error: 'not_found' });
    const method = path.slice('/api/'.length);
    if (method !== 'chat.postMessage') return sendJson(res, 200, { ok: false, error: 'unknown_method' });
    if (req.method !== 'POST') return sendJson(res, 200, { ok: false, error: 'method_not_supported_for_channel_type' });
    const text = await readText(req);
    const token = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!token) return sendJson(res, 200, { ok: false, error: 'not_authed' });
    const expected = options.slackToken();
    if (!expected || token !== expected) return sendJson(res, 200, { ok: false, error: 'invalid_auth' });
    const fault = checkFault(options.faults, 'slack', text);
    if (fault) return sendJson(res, fault.status, { ok: false, error: fault.type });
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) return sendJson(res, 200, { ok: false, error: 'invalid_form_data' });
    const json = parseJson(text);
    if (json === undefined) return sendJson(res, 200, { ok: false, error: 'invalid_json' });
    const parsed = postMessageSchema.safeParse(json);
    if (!parsed.success) return sendJson(res, 200, { ok: false, error: 'invalid_arguments' });
    const message = parsed.data;
    if (!message.channel) return sendJson(res, 200, { ok: false, error: 'channel_not_found' });
    if (!message.text && !message.blocks?.length && !message.attachments?.length) return sendJson(res, 200, { ok: false, error: 'no_text' });
    const { actionId, reviewUrl } = slackLinks(message);
    options.inbox.add({
      channel: 'slack',
      to: message.channel,
      subject: firstLine(message.text ?? ''),
      text: message.text ?? '',
      actionId,
      ...(reviewUrl ? { reviewUrl } : {}),
      payload: json,
    } satisfies OutgoingMessage);
    const ts = slackTs();
    sendJson(res, 200, { ok: true, channel: message.channel, ts, message: { type: 'message', text: message.text ?? '', ts } });
  };
}

async function responseUrl(req: IncomingMessage, res: ServerResponse, path: string, responses: Map<string, unknown[]>): Promise<void> {
  if (req.method === 'GET') return sendJson(res, 200, responses.get(path) ?? []);
  if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: 'method_not_allowed' });
  const body = parseJson(await readText(req));
  if (body === undefined) return sendJson(res, 400, { ok: false, error: 'invalid_json' });
  const list = responses.get(path) ?? [];
  if (!responses.has(path) && responses.size >= MAX_RESPONSE_URLS) responses.delete(responses.keys().next().value!);
  if (list.length < MAX_RESPONSES_PER_URL) list.push(body);
  responses.set(path, list);
  sendJson(res, 200, { ok: true });
}

let lastTs = 0;
/** A message timestamp as Slack gives one (`<seconds>.<microseconds>`), unique in this process. */
function slackTs(): string {
  lastTs = Math.max(lastTs + 1, Date.now() * 1000);
  return `${Math.floor(lastTs / 1e6)}.${String(lastTs % 1e6).padStart(6, '0')}`;
}

const REQUEST_ID = /^act_[A-Za-z0-9_-]{1,64}$/;

/** The request a Slack message is about (its Approve button's value, or the `(act_…)` its text names) and its Review link. */
function slackLinks(message: z.infer<typeof postMessageSchema>): { actionId: string; reviewUrl?: string } {
  let actionId: string | undefined;
  let reviewUrl: string | undefined;
  for (const block of message.blocks ?? []) {
    const elements = (block as { type?: unknown; elements?: unknown }).elements;
    if ((block as { type?: unknown }).type !== 'actions' || !Array.isArray(elements)) continue;
    for (const element of elements as Array<{ action_id?: unknown; value?: unknown; url?: unknown }>) {
      if (element.action_id === 'countersign_approve' && typeof element.value === 'string' && REQUEST_ID.test(element.value)) actionId ??= element.value;
      if (element.action_id === 'countersign_review' && typeof element.url === 'string') reviewUrl ??= element.url;
    }
  }
  actionId ??= /\((act_[A-Za-z0-9_-]{1,64})\)/.exec(message.text ?? '')?.[1];
  return { actionId: actionId ?? '', ...(reviewUrl ? { reviewUrl } : {}) };
}

// --- Teams -------------------------------------------------------------------------------------------------------

const teamsWebhookSchema = z
  .object({
    type: z.literal('message'),
    attachments: z.array(z.object({ contentType: z.string(), content: z.unknown() }).loose()).min(1),
  })
  .loose();

function teamsHandler(options: LocalChannelsOptions, webhookPath: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (pathOf(req) !== webhookPath) return sendJson(res, 404, { error: { code: 'WorkflowNotFound', message: 'no workflow at this URL' } });
    if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'MethodNotAllowed', message: 'POST only' } });
    const text = await readText(req);
    const fault = checkFault(options.faults, 'teams', text);
    if (fault) return sendJson(res, fault.status, { error: { code: fault.type, message: fault.message } });
    const json = parseJson(text);
    const parsed = teamsWebhookSchema.safeParse(json);
    if (!parsed.success) return sendJson(res, 400, { error: { code: 'InvalidRequestContent', message: 'the body is not a message with attachments' } });
    const card = parsed.data.attachments[0]!.content as { body?: unknown; actions?: unknown } | undefined;
    const blocks = Array.isArray(card?.body) ? (card.body as Array<{ type?: unknown; text?: unknown; facts?: unknown }>) : [];
    const lines: string[] = [];
    for (const block of blocks) {
      if (block.type === 'TextBlock' && typeof block.text === 'string') lines.push(block.text);
      if (block.type === 'FactSet' && Array.isArray(block.facts)) {
        for (const fact of block.facts as Array<{ title?: unknown; value?: unknown }>) lines.push(`${String(fact.title)}: ${String(fact.value)}`);
      }
    }
    const actions = Array.isArray(card?.actions) ? (card.actions as Array<{ type?: unknown; url?: unknown }>) : [];
    const reviewUrl = actions.find((a) => a.type === 'Action.OpenUrl' && typeof a.url === 'string')?.url as string | undefined;
    const actionId = reviewUrl ? (/\/v1\/actions\/(act_[A-Za-z0-9_-]{1,64})\/review$/.exec(new URL(reviewUrl, 'http://x').pathname)?.[1] ?? '') : '';
    options.inbox.add({
      channel: 'teams',
      to: 'teams',
      subject: lines.slice(0, 2).join(': ') || 'Teams card',
      text: lines.join('\n'),
      actionId,
      ...(reviewUrl ? { reviewUrl } : {}),
      payload: json,
    } satisfies OutgoingMessage);
    res.writeHead(202).end();
  };
}

// --- shared ------------------------------------------------------------------------------------------------------

function checkFault(faults: LocalFaults | undefined, service: FaultService, body: string) {
  return faults?.check(service, 'Send', body);
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://local').pathname;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
