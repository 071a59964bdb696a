/** Approver API: review pages, JSON decisions and Slack interactions. The decision rules arrive with the approval flow. */
import { CountersignError } from '../core/errors';
import { routeHandler } from '../adapters/http';

const notYet = async (): Promise<never> => {
  throw new CountersignError('not_found', 'decisions are not available in this version');
};

export const handler = routeHandler({
  'POST /v1/actions/{id}/decision': notYet,
  'GET /v1/review/{token}': notYet,
  'POST /v1/review/{token}': notYet,
  'POST /v1/slack/interactions': notYet,
});
