/**
 * Slack's interactivity endpoint (POST /v1/slack/interactions). Every request is checked against Slack's v0 signature
 * before anything is read; the clicking user counts only through a `slackUserId` binding in the config; the vote goes
 * through the same `castVote` as every other channel. Slack wants an acknowledgement within 3 seconds and takes
 * block_actions answers through response_url, so the handler votes, posts the update there (briefly, its failure never
 * failing the vote), and acknowledges with an empty 200.
 */

import { errorResult, type HttpEvent, type HttpResult, MAX_BODY_BYTES } from '../adapters/http';
import { correlate, errorName, logger } from '../adapters/logger';
import { resolveSecret } from '../adapters/secrets';
import { postToResponseUrl } from '../adapters/slack';
import { type ApproverPorts, castVote } from '../app/vote';
import { statusOf } from '../core/approval';
import { CountersignError } from '../core/errors';
import { voteSchema } from '../core/records';
import { REQUEST_ID_PATTERN } from '../core/request';
import {
  approverForSlackUser,
  ephemeralMessage,
  outcomeMessage,
  progressMessage,
  reviewUrlOf,
  type SlackResponseBody,
  slackBlockActionsSchema,
  slackClick,
  slackPayloadKindSchema,
  verifySlackSignature,
} from '../core/slack';

/** Time left for the response_url post inside Slack's 3-second window, after the vote. */
export const RESPONSE_URL_TIMEOUT_MS = 1500;

/** Slack's acknowledgement: an empty 200. */
const ACK: HttpResult = { statusCode: 200, headers: { 'cache-control': 'no-store' }, body: '' };

/** What each refusal of the decision rules tells the clicking user. */
const REFUSALS: Partial<Record<CountersignError['code'], string>> = {
  not_an_approver: 'You are not an approver of this request, so your click was not counted.',
  self_approval: 'You asked for this action, or the agent acts on your behalf: someone else has to decide it. Your click was not counted.',
  // Someone who may not see the request hears the same as for a request that does not exist.
  not_found: 'Your click was not counted: you are not an approver of this request, or Countersign has no such request.',
};

function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Posts to response_url, logging (never the URL) and swallowing a failure: the vote stands either way. */
async function respond(url: string | undefined, body: SlackResponseBody): Promise<void> {
  if (!url) return;
  try {
    await postToResponseUrl(url, body, { timeoutMs: RESPONSE_URL_TIMEOUT_MS });
  } catch (err) {
    // The error's name only: its message may quote the URL, which lets anyone holding it answer in the channel.
    logger.warn('Slack response_url post failed', { error: errorName(err) });
  }
}

export async function handleSlackInteraction(event: HttpEvent, deps: ApproverPorts): Promise<HttpResult> {
  const slack = deps.policy.config().channels.slack;
  if (!slack) return errorResult(new CountersignError('not_found', 'Slack is not configured for this deployment'));

  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return errorResult(new CountersignError('payload_too_large', 'the body is over 256 KiB'));
  const signingSecret = await resolveSecret(slack.signingSecret);
  const signed = verifySlackSignature({
    signingSecret,
    timestamp: header(event, 'x-slack-request-timestamp'),
    signature: header(event, 'x-slack-signature'),
    body,
    now: deps.clock.now(),
  });
  if (!signed) return errorResult(new CountersignError('unauthorized', 'the Slack request signature is missing, wrong or stale'));

  const payloadText = new URLSearchParams(body).get('payload');
  const raw = payloadText === null ? undefined : parseJson(payloadText);
  const kind = slackPayloadKindSchema.safeParse(raw);
  if (!kind.success) return errorResult(new CountersignError('invalid_request', 'expected a form field `payload` holding a Slack interaction payload'));
  // Only our buttons send interactions we act on; anything else Slack sends here is acknowledged and ignored.
  if (kind.data.type !== 'block_actions') return ACK;
  const parsed = slackBlockActionsSchema.safeParse(raw);
  if (!parsed.success) return errorResult(new CountersignError('invalid_request', 'the block_actions payload does not match its schema'));
  const payload = parsed.data;
  const click = slackClick(payload.actions[0]!);
  if (!click) return ACK; // the Review link button, or another app's element
  const { decision, requestId } = click;

  const responseUrl = payload.response_url;
  const approver = approverForSlackUser(deps.policy.config(), payload.user.id);
  if (!approver) {
    logger.info('vote refused', { via: 'slack', reason: 'unlinked_slack_user', slackUser: payload.user.id });
    await respond(
      responseUrl,
      ephemeralMessage(
        'Your Slack account is not linked to a Countersign approver, so your click was not counted. Ask your Countersign administrator to add your Slack user id (slackUserId) to your approver entry, or use the Review link.',
      ),
    );
    return ACK;
  }
  if (!REQUEST_ID_PATTERN.test(requestId)) {
    await respond(responseUrl, ephemeralMessage(REFUSALS.not_found!));
    return ACK;
  }
  // The signature held: the click is about this request.
  correlate(requestId);
  // "Approve for": the button's length, checked as the decision API checks `for` (and against the rule by castVote).
  const vote = voteSchema.safeParse({ decision, ...(click.for !== undefined ? { for: click.for } : {}) });
  if (!vote.success) {
    await respond(responseUrl, ephemeralMessage('Your click was not counted: the button names no length of time Countersign can read. Use the Review link.'));
    return ACK;
  }

  try {
    const { state, recorded } = await castVote(deps, requestId, { approver, via: 'slack', signedIn: false }, vote.data);
    logger.info(recorded ? 'vote recorded' : 'vote repeated', {
      via: 'slack',
      decision,
      ...(vote.data.for ? { for: vote.data.for } : {}),
      status: statusOf(state),
    });
    const reviewUrl = reviewUrlOf(payload.message) ?? `${deps.publicUrl}/v1/actions/${requestId}/review`;
    await respond(responseUrl, statusOf(state) === 'pending' ? progressMessage(state, reviewUrl, deps.clock.now()) : outcomeMessage(state));
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    logger.info('vote refused', { via: 'slack', decision, reason: err.code });
    const text =
      err.code === 'already_decided' ? `Your click was not counted: ${err.message}.` : (REFUSALS[err.code] ?? `Your click was not counted: ${err.message}`);
    await respond(responseUrl, ephemeralMessage(text));
  }
  return ACK;
}
