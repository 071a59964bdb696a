/**
 * Posting a card to a Teams channel through its Workflows webhook. The webhook URL is a bearer secret (anyone
 * holding it can post to the channel), so it never appears in a log line or an error message.
 */

import { RetryableError } from '../core/retry';
import { teamsMessageSchema } from '../core/teams';
import * as z from '../core/zod';

/** Longest wait for the webhook when the caller gives no signal, well inside the notifier's own timeout. */
export const TEAMS_TIMEOUT_MS = 5000;

/** A refusal worth no retry (4xx other than 429): the URL, the flow or the card is wrong. */
export class TeamsWebhookError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'TeamsWebhookError';
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * POSTs the webhook body. 2xx is done (Workflows answers 202); 429 and 5xx, timeouts and network failures throw a
 * RetryableError carrying the server's Retry-After; any other answer throws TeamsWebhookError.
 */
export async function postTeamsCard(
  webhookUrl: string,
  body: unknown,
  fetchImpl: typeof fetch = fetch,
  opts: { readonly signal?: AbortSignal } = {},
): Promise<void> {
  const message = z.parse(teamsMessageSchema, body);
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new TeamsWebhookError('the Teams webhook URL is not a valid URL', 0);
  }
  // Cards carry request details: only TLS, except to a loopback test server.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new TeamsWebhookError('the Teams webhook URL must use https', 0);
  }
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      redirect: 'error',
      signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(TEAMS_TIMEOUT_MS)]) : AbortSignal.timeout(TEAMS_TIMEOUT_MS),
    });
  } catch (err) {
    // The fetch error's cause may name the host or the URL: report only its kind.
    const kind = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'failed to connect';
    throw new RetryableError(`Teams webhook request ${kind}`);
  }
  // The body is not needed, and may echo the request; drain it so the connection is reused.
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return;
  if (res.status === 429 || res.status >= 500) {
    throw new RetryableError(`Teams webhook answered ${res.status}`, retryAfterMs(res.headers.get('retry-after')));
  }
  throw new TeamsWebhookError(`Teams webhook refused the card with ${res.status}`, res.status);
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
