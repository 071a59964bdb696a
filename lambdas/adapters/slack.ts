/**
 * Talking to Slack: chat.postMessage with the bot token, and posts to an interaction's response_url. Tokens and
 * response URLs (a capability to post into the conversation) are never logged or put in an error message.
 */
import * as z from '../core/zod';
import { optionalEnv } from './environment';

/**
 * Slack's Web API base: FUNCTION_ENV.slackApiUrl when set (local mode serves its own Slack Web API), else
 * https://slack.com/api. Read per call so a test can set it late.
 */
export function slackApiBase(): string {
  return (optionalEnv('slackApiUrl') ?? 'https://slack.com/api').replace(/\/+$/, '');
}

/** A Slack Web API call that failed: `{ ok: false, error }`, or an HTTP error status. */
export class SlackApiError extends Error {
  constructor(
    readonly method: string,
    /** Slack's error code, e.g. `channel_not_found`, `invalid_auth`, or `http_503`. */
    readonly error: string,
    /** True when the same call may succeed later (throttling, Slack's 5xx). */
    readonly retryable: boolean,
  ) {
    super(`Slack ${method} failed: ${error}`);
    this.name = 'SlackApiError';
  }
}

/** HTTP 429 from Slack: retry after `retryAfterSeconds` (its `Retry-After` header). */
export class SlackRateLimitedError extends SlackApiError {
  constructor(
    method: string,
    readonly retryAfterSeconds: number,
  ) {
    super(method, 'ratelimited', true);
    this.name = 'SlackRateLimitedError';
  }
}

const webApiAnswerSchema = z.looseObject({ ok: z.boolean(), error: z.optional(z.string()), channel: z.optional(z.string()), ts: z.optional(z.string()) });

/** Longest wait for one Slack call when the caller gives no signal: well inside any Countersign function's timeout. */
export const SLACK_TIMEOUT_MS = 5000;

export interface SlackCallOptions {
  /** @default SLACK_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Aborts the call (e.g. the caller's own deadline); the timeout applies too. */
  readonly signal?: AbortSignal;
}

const signalOf = (opts: SlackCallOptions) => {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? SLACK_TIMEOUT_MS);
  return opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
};

/** Posts a message (docs.slack.dev/reference/methods/chat.postMessage); answers where it went and its `ts`. */
export async function postSlackMessage(botToken: string, body: unknown, opts: SlackCallOptions = {}): Promise<{ channel?: string; ts?: string }> {
  const method = 'chat.postMessage';
  const res = await fetch(`${slackApiBase()}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${botToken}` },
    body: JSON.stringify(body),
    redirect: 'error',
    signal: signalOf(opts),
  });
  if (res.status === 429) {
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new SlackRateLimitedError(method, Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : 1);
  }
  if (!res.ok) throw new SlackApiError(method, `http_${res.status}`, res.status >= 500);
  const answer = webApiAnswerSchema.safeParse(await res.json().catch(() => undefined));
  if (!answer.success) throw new SlackApiError(method, 'unreadable_response', true);
  // Slack answers HTTP 200 with ok: false for its own errors (invalid_auth, channel_not_found, ...).
  if (!answer.data.ok)
    throw new SlackApiError(
      method,
      answer.data.error ?? 'unknown_error',
      answer.data.error === 'ratelimited' || answer.data.error === 'internal_error' || answer.data.error === 'fatal_error',
    );
  return { ...(answer.data.channel ? { channel: answer.data.channel } : {}), ...(answer.data.ts ? { ts: answer.data.ts } : {}) };
}

/**
 * A response_url Countersign will post to, or undefined: https on hooks.slack.com (no other port), where Slack's
 * response URLs live, or a URL on the origin of the Slack Web API this function is configured with (local mode's
 * Slack endpoint serves its interactions' response URLs itself). Never one carrying credentials.
 */
export function allowedResponseUrl(url: string): URL | undefined {
  const parsed = urlOrUndefined(url);
  if (!parsed) return undefined;
  if (parsed.username || parsed.password) return undefined;
  if (parsed.protocol === 'https:' && parsed.hostname === 'hooks.slack.com' && !parsed.port) return parsed;
  const api = urlOrUndefined(slackApiBase());
  if (api && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === api.origin) return parsed;
  return undefined;
}

function urlOrUndefined(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Posts a body to an interaction's response_url (replace the message, or an ephemeral answer). */
export async function postToResponseUrl(url: string, body: unknown, opts: SlackCallOptions = {}): Promise<void> {
  const target = allowedResponseUrl(url);
  if (!target) throw new SlackApiError('response_url', 'response_url_not_allowed', false);
  const res = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
    redirect: 'error',
    signal: signalOf(opts),
  });
  // Slack answers 404 `expired_url` / `used_url` once the URL is spent (five uses, 30 minutes).
  if (!res.ok) throw new SlackApiError('response_url', `http_${res.status}`, res.status === 429 || res.status >= 500);
  await res.body?.cancel();
}
