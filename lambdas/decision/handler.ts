/**
 * Approver API: the JSON decision API (IAM caller), and the review page behind a personal review link. GET shows
 * the page and changes nothing (mail scanners and link unfurlers fetch links first); only POST decides. Both apply
 * the same rules through `decideVote` on the request's ledger chain.
 */

import { awsPorts } from '../adapters/aws-ports';
import { caller, formFields, type HttpEvent, type HttpResult, json, jsonBody, parseWith, routeHandler } from '../adapters/http';
import { correlate, logger } from '../adapters/logger';
import { castVote, pendingFor, requestState } from '../app/vote';
import { publicView, statusOf } from '../core/approval';
import { CountersignError } from '../core/errors';
import { voteSchema } from '../core/records';
import { REQUEST_ID_PATTERN } from '../core/request';
import { checkReviewToken } from '../core/review-token';
import { formFor, requestView } from '../pages/request';
import { checkStepUp, finishSignIn, sendPersonalLink, showRequestLanding, signedInAsApprover, startSignIn } from './identity';
import { REVIEW_PAGE_HEADERS, type ReviewView, renderMessagePage, renderReviewPage } from './review-page';
import { handleSlackInteraction } from './slack-interactions';

const ports = awsPorts;

async function decisionApi(event: HttpEvent) {
  const principal = caller(event, ports.policy.config());
  // Votes are recorded under the member id of the person the caller is (any alias, a role for its sessions).
  const approver = ports.policy.directory().personOf(principal) ?? principal;
  const vote = parseWith(voteSchema, jsonBody(event));
  const id = event.pathParameters?.id ?? '';
  if (!REQUEST_ID_PATTERN.test(id)) throw new CountersignError('not_found', 'no such request');
  // IAM (SigV4) authenticated the caller: that is the sign-in a `requireSignIn` rule asks for.
  const { state, recorded } = await castVote(ports, id, { approver, via: 'decision_api', signedIn: true }, vote);
  logger.info(recorded ? 'vote recorded' : 'vote repeated', { via: 'decision_api', decision: vote.decision, status: statusOf(state) });
  // The receipt holds the requester's parameters salt: an approver's answer never carries it.
  return json(200, publicView(state));
}

/** A review link that names nothing we can show: same answer whatever the reason, so it reveals nothing. */
const invalidLink = (detail = 'Nothing was changed.') => page(404, renderMessagePage('This review link is not valid', detail, 'error'));

function page(status: number, body: string): HttpResult {
  return { statusCode: status, headers: { ...REVIEW_PAGE_HEADERS }, body };
}

/** The review link's grant, or the page to answer instead. */
async function grantOf(event: HttpEvent) {
  const token = event.pathParameters?.token ?? '';
  const check = await checkReviewToken(ports.mac, token, ports.clock.now());
  if (check.ok) {
    // The token checked out: its request is the invocation's (the token itself is never logged).
    correlate(check.grant.requestId);
    return { grant: check.grant, formAction: `/v1/review/${token}` };
  }
  // An expired link's MAC held: the request it names is known.
  if (check.reason === 'expired') correlate(check.requestId);
  logger.info('review link refused', { reason: check.reason });
  return {
    answer:
      check.reason === 'expired'
        ? page(410, renderMessagePage('This review link has expired', 'The request it was for is closed. Nothing was changed.', 'info'))
        : invalidLink('Check that the whole link was copied from the email. Nothing was changed.'),
  };
}

async function reviewView(requestId: string, approver: string, formAction: string, notice?: ReviewView['notice']): Promise<ReviewView | undefined> {
  const state = await requestState(ports, requestId);
  if (!state) return undefined;
  const directory = ports.policy.directory();
  const self = directory.isOneOf(approver, [state.requester])
    ? 'requester'
    : directory.isOneOf(approver, [state.request.onBehalfOf])
      ? 'onBehalfOf'
      : undefined;
  return {
    request: requestView(state, directory),
    approver,
    ...(self ? { self } : {}),
    formAction,
    ...(notice ? { notice } : {}),
  };
}

async function showReview(event: HttpEvent) {
  const { grant, formAction, answer } = await grantOf(event);
  if (answer) return answer;
  // Step-up: a rule with requireSignIn wants the signed-in approver, not just the link.
  const stepUp = await checkStepUp(event, ports, grant);
  if (stepUp) return stepUp;
  const view = await reviewView(grant.requestId, grant.approver, formAction);
  if (!view) return invalidLink();
  return page(200, renderReviewPage(view));
}

async function decideReview(event: HttpEvent) {
  const { grant, formAction, answer } = await grantOf(event);
  if (answer) return answer;
  const stepUp = await checkStepUp(event, ports, grant);
  if (stepUp) return stepUp;
  let notice: ReviewView['notice'];
  let status = 200;
  let form: URLSearchParams;
  try {
    form = formFields(event);
  } catch (err) {
    // Too big, or a field twice (two decisions, two lengths): read as the console reads its forms, and decide nothing.
    if (!(err instanceof CountersignError)) throw err;
    const view = await reviewView(grant.requestId, grant.approver, formAction, { kind: 'error', text: err.message });
    return view ? page(err.status, renderReviewPage(view)) : invalidLink();
  }
  const parsed = voteSchema.safeParse({
    decision: form.get('decision') ?? undefined,
    ...(form.get('reason') ? { reason: form.get('reason') } : {}),
    ...formFor(form),
  });
  if (!parsed.success) {
    status = 400;
    notice = { kind: 'error', text: 'Choose Approve or Deny (a reason may be at most 1000 characters, a time one of those offered).' };
  } else {
    try {
      const signedIn = await signedInAsApprover(event, ports, grant);
      const { state, recorded } = await castVote(ports, grant.requestId, { approver: grant.approver, via: 'review_link', signedIn }, parsed.data);
      logger.info(recorded ? 'vote recorded' : 'vote repeated', {
        via: 'review_link',
        decision: parsed.data.decision,
        ...(parsed.data.for ? { for: parsed.data.for } : {}),
        signedIn,
        status: statusOf(state),
      });
      const forWhile = parsed.data.for ? ` for ${parsed.data.for}` : '';
      notice = { kind: 'success', text: `Your decision (${parsed.data.decision}${forWhile}) is recorded. The request is ${statusOf(state)}.` };
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      logger.info('vote refused', { via: 'review_link', decision: parsed.data.decision, reason: err.code });
      status = err.status;
      notice = { kind: 'error', text: err.message };
    }
  }
  const view = await reviewView(grant.requestId, grant.approver, formAction, notice);
  if (!view) return invalidLink();
  return page(status, renderReviewPage(view));
}

const withPorts = (route: (event: HttpEvent, ports: typeof awsPorts) => Promise<HttpResult>) => (event: HttpEvent) => route(event, ports);

/** `GET /v1/me/pending`: the pending requests waiting for the caller's vote, oldest first. */
async function pendingForMe(event: HttpEvent) {
  const principal = caller(event, ports.policy.config());
  return json(200, { items: (await pendingFor(ports, principal)).map((state) => publicView(state)) });
}

export const handler = routeHandler(
  {
    'GET /v1/me/pending': pendingForMe,
    'POST /v1/actions/{id}/decision': decisionApi,
    'GET /v1/review/{token}': showReview,
    'POST /v1/review/{token}': decideReview,
    'POST /v1/slack/interactions': withPorts(handleSlackInteraction),
    'GET /v1/actions/{id}/review': withPorts(showRequestLanding),
    'POST /v1/actions/{id}/review-link': withPorts(sendPersonalLink),
    'GET /v1/auth/login': withPorts(startSignIn),
    'GET /v1/auth/callback': withPorts(finishSignIn),
  },
  {
    // The request's landing page and its review-link form are for anyone: their path's id says nothing of who asks.
    selfAuthenticated: ['GET /v1/actions/{id}/review', 'POST /v1/actions/{id}/review-link'],
  },
);
