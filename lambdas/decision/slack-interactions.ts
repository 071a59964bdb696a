/** Slack's interactivity endpoint (POST /v1/slack/interactions). Built with the Slack channel. */
import { CountersignError } from '../core/errors';
import type { HttpEvent, HttpResult } from '../adapters/http';
import type { DecisionDeps } from './deps';

export async function handleSlackInteraction(_event: HttpEvent, _deps: DecisionDeps): Promise<HttpResult> {
  throw new CountersignError('not_found', 'Slack is not configured for this deployment');
}
