/**
 * The approver's review page (docs/api.md "The review page"): `GET /v1/review/{reviewToken}` shows it, and only its
 * form's POST decides (docs/design.md "Decisions, and why": GET never changes state). Pure: the handler loads and
 * masks the request, then renders.
 *
 * Almost everything shown is agent-supplied, so every value is escaped, hidden characters (core/text.ts: bidi
 * controls, zero-width and tag characters, controls) are marked visibly (an RTL override could make `prod` read as
 * `dorp`). The page loads no external resource, and its one script is its own (PAGE_SCRIPT, allowed by its SHA-256
 * in the CSP, which forbids every other script): it shows times in the viewer's time zone and keeps the time left
 * current. Everything reads without it.
 */
import { createHash } from 'node:crypto';
import { spanWords } from '../core/dates';
import { escapeHtml } from '../core/html';
import { REASON_MAX_LENGTH } from '../core/records';
import type { Decision, RequestStatus } from '../core/request';
import { canonicalText } from '../core/text';
import { documentHtml, optional, PAGE_SCRIPT, renderTime, row, text } from '../pages/kit';

export { PAGE_SCRIPT };

export interface ReviewView {
  readonly request: {
    id: string;
    status: RequestStatus;
    action: string;
    resource?: string;
    environment?: string;
    parameters?: Record<string, unknown>;
    justification?: string;
    onBehalfOf?: string;
    requester: string;
    agent?: { name?: string; model?: string; runId?: string };
    rule: string;
    requiredApprovals: number;
    expiresAt?: string;
    createdAt: string;
    decidedAt?: string;
    decidedBy?: string;
    reason?: string;
    votes: Array<{ approver: string; decision: Decision; reason?: string; at: string }>;
    /** Everyone who may vote (the requester and onBehalfOf excluded), as their votes name them. */
    approvers?: string[];
    /** The rule marks the request high-risk (it requires sign-in on review links). */
    highRisk?: boolean;
  };
  /** The approver this personal link belongs to. */
  readonly approver: string;
  /** When the approver is the requester or the person the agent acts for (under any alias): they cannot decide. */
  readonly self?: 'requester' | 'onBehalfOf';
  /** Path the form posts to (the same review URL). */
  readonly formAction: string;
  /** A notice to show above the request, e.g. after a decision or a refusal. */
  readonly notice?: { kind: 'success' | 'error' | 'info'; text: string };
  /** The time relative expiry ("in 58 minutes") is computed from. @default the current time */
  readonly now?: Date;
}

const PAGE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(PAGE_SCRIPT).digest('base64')}'`;

/** Headers every review response carries. */
export const REVIEW_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  // No external resource; inline styles, and the page's own script by its hash: any other script is refused.
  'content-security-policy': `default-src 'none'; script-src ${PAGE_SCRIPT_HASH}; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  // The URL is a bearer credential: it must not leak through Referer, caches or framing.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
});

const STATUS_LABEL: Record<RequestStatus, string> = {
  pending: 'Pending',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

export function renderReviewPage(view: ReviewView): string {
  const { request, approver } = view;
  const now = view.now ?? new Date();
  const approvals = request.votes.filter((v) => v.decision === 'approve').length;
  const pending = request.status === 'pending';
  const title = `Review: ${request.action}`;
  const risk = riskCue(request);

  // The first screen, at 390×844 too: what is asked in one sentence, the time left, the risk, and the decision.
  const body = `<header class="top">
  <p class="brand">Countersign · approval request</p>
  <h1 data-testid="summary">${summarySentence(request)}</h1>
  <p class="meta"><span class="status status-${escapeHtml(request.status)}" data-testid="status">${STATUS_LABEL[request.status]}</span>
    <span>${approvals} of ${request.requiredApprovals} approval${request.requiredApprovals === 1 ? '' : 's'}</span>
    <span>Reviewing as <bdi data-testid="approver">${text(approver)}</bdi></span></p>
</header>
${view.notice ? renderNotice(view.notice) : ''}
${pending ? renderTimeLeft(request, now) : ''}
${risk ? `<p class="risk" data-testid="risk"><strong>Caution:</strong> ${risk}</p>` : ''}
<section aria-labelledby="h-decision" class="decision">
  <h2 id="h-decision">${pending ? 'Your decision' : 'Outcome'}</h2>
  ${renderDecision(view)}
</section>
<section aria-labelledby="h-what">
  <h2 id="h-what">What the agent wants to do</h2>
  <dl>
    ${row('Action', `<code>${text(request.action)}</code>`)}
    ${row('Resource', optional(request.resource, 'resource'))}
    ${row('Environment', optional(request.environment, 'environment'))}
  </dl>
  <h3>Parameters</h3>
  ${renderParameters(request.parameters)}
</section>
<section aria-labelledby="h-why">
  <h2 id="h-why">Why, in the agent's words</h2>
  <p class="unverified" id="justification-note" data-testid="justification-note"><strong>Supplied by the agent, not verified.</strong>
    Countersign cannot check this text; judge the request by the action, resource and parameters above.</p>
  ${
    request.justification
      ? `<pre class="long prose" tabindex="0" data-testid="justification" aria-describedby="justification-note">${text(request.justification)}</pre>`
      : '<p class="none" data-testid="justification">No justification was given.</p>'
  }
</section>
<section aria-labelledby="h-who">
  <h2 id="h-who">Who is asking</h2>
  <dl>
    ${row('Requester', `<bdi data-testid="requester">${text(request.requester)}</bdi>`)}
    ${row('On behalf of', optional(request.onBehalfOf, 'on-behalf-of'))}
    ${row('Agent', renderAgent(request.agent))}
  </dl>
</section>
<section aria-labelledby="h-votes">
  <h2 id="h-votes">Approvers and votes</h2>
  ${renderApprovers(request, approver)}
  ${renderVotes(request, approver)}
</section>
<section aria-labelledby="h-policy">
  <h2 id="h-policy">Policy</h2>
  <dl>
    ${row('Rule', `<code data-testid="rule">${text(request.rule)}</code>`)}
    ${row('Approvals', `<span data-testid="approvals">${approvals} of ${request.requiredApprovals} needed</span> <span class="hint">(one deny settles it as denied)</span>`)}
    ${row('Requested', renderTime(request.createdAt, 'created', pending ? now : undefined))}
    ${row(pending ? 'Expires' : 'Deadline was', request.expiresAt ? renderTime(request.expiresAt, 'expires', pending ? now : undefined) : '<span class="none" data-testid="expires">no expiry</span>')}
    ${request.decidedAt ? row('Decided', renderTime(request.decidedAt, 'decided-at')) : ''}
    ${row('Request id', `<code>${text(request.id)}</code>`)}
  </dl>
</section>`;
  return documentHtml(title, body, { tail: `\n<script>${PAGE_SCRIPT}</script>` });
}

/** "arn:aws:iam::…:role/agent asks to run data.export on arn:aws:s3:::customers in production." */
function summarySentence(request: ReviewView['request']): string {
  const verb = request.status === 'pending' ? 'asks' : 'asked';
  return `<bdi class="who">${text(request.requester)}</bdi> ${verb} to run <code data-testid="action">${text(request.action)}</code>${
    request.resource ? ` on <bdi class="what">${text(request.resource)}</bdi>` : ''
  }${request.environment ? ` in <bdi class="where">${text(request.environment)}</bdi>` : ''}`;
}

/** Production-like environment names: `prod`, `production`, `prd`, `live`, alone or as a word of the name. */
const PRODUCTION_LIKE = /(^|[^a-z0-9])(prod|production|prd|live)([^a-z0-9]|$)/i;

/** Why this request deserves a second look, if it does: a production-like environment, or a rule marked high-risk. */
function riskCue(request: ReviewView['request']): string | undefined {
  const reasons: string[] = [];
  // Judged as written and in the form policy compares (full-width letters folded, hidden characters dropped): a cue
  // errs toward showing, so either spelling that reads as production shows it.
  const environment = request.environment;
  if (environment && (PRODUCTION_LIKE.test(environment) || PRODUCTION_LIKE.test(canonicalText(environment)))) {
    reasons.push(`this runs in a production environment (<bdi>${text(environment)}</bdi>)`);
  }
  if (request.highRisk) reasons.push(`the rule <code>${text(request.rule)}</code> marks it high-risk (sign-in required)`);
  return reasons.length ? `${reasons.join('; ')}.` : undefined;
}

/** The live time left: a sentence readable as rendered, which the page's script keeps current. */
function renderTimeLeft(request: ReviewView['request'], now: Date): string {
  if (!request.expiresAt) return '<p class="time-left" data-testid="time-left">This request has no expiry.</p>';
  const deadline = new Date(request.expiresAt);
  if (Number.isNaN(deadline.getTime())) return '';
  const left = deadline.getTime() - now.getTime();
  return `<p class="time-left" data-testid="time-left"><strong data-countdown="${escapeHtml(deadline.toISOString())}">${escapeHtml(
    left > 0 ? `${spanWords(left)} left to decide` : 'The deadline has passed',
  )}</strong> · expires ${renderTime(request.expiresAt, 'time-left-at')}</p>`;
}

/** Everyone who may vote, and where each stands. */
function renderApprovers(request: ReviewView['request'], approver: string): string {
  if (!request.approvers?.length) return '';
  const pending = request.status === 'pending';
  const items = request.approvers
    .map((a) => {
      const vote = request.votes.find((v) => v.approver === a);
      const standing = vote ? (vote.decision === 'approve' ? 'approved' : 'denied') : pending ? 'may still vote' : 'did not vote';
      return `<li><bdi>${text(a)}</bdi>${a === approver ? ' (you)' : ''}: <span class="standing">${standing}</span></li>`;
    })
    .join('\n');
  return `<ul class="approvers" data-testid="approvers">${items}</ul>`;
}

/** A page with one message, e.g. for an invalid or expired link; it offers no action. */
export function renderMessagePage(title: string, message: string, status: 'error' | 'info'): string {
  const role = status === 'error' ? 'alert' : 'status';
  return documentHtml(
    title,
    `<header class="top"><p class="brand">Countersign</p><h1>${text(title)}</h1></header>
<div class="notice notice-${status}" role="${role}" data-testid="message"><p>${text(message)}</p></div>`,
  );
}

function renderDecision(view: ReviewView): string {
  const { request, approver } = view;
  const own = request.votes.find((v) => v.approver === approver);
  if (request.status !== 'pending') return renderOutcome(request);
  if (own) {
    const remaining = Math.max(0, request.requiredApprovals - request.votes.filter((v) => v.decision === 'approve').length);
    return `<div class="outcome" data-testid="outcome"><p>You ${own.decision === 'approve' ? 'approved' : 'denied'} this request on ${renderTime(own.at, 'voted')}.
  ${remaining > 0 ? `It is waiting for ${remaining} more approval${remaining === 1 ? '' : 's'}.` : ''}</p></div>`;
  }
  // A requester never approves their own request; the handler refuses it on every channel, the page says why first.
  if (view.self) {
    return `<div class="outcome" data-testid="outcome"><p>You cannot decide this request: it was made ${
      view.self === 'requester' ? 'by you' : 'on your behalf'
    }. Another approver must review it.</p></div>`;
  }
  return `<form method="post" action="${escapeHtml(view.formAction)}" autocomplete="off" data-testid="decision-form">
    <label for="reason">Reason <span class="hint">(optional, recorded in the audit ledger)</span></label>
    <textarea id="reason" name="reason" rows="3" maxlength="${REASON_MAX_LENGTH}" data-testid="reason"></textarea>
    <div class="buttons">
      <button type="submit" name="decision" value="approve" id="approve" class="approve" data-testid="approve">Approve</button>
      <button type="submit" name="decision" value="deny" id="deny" class="deny" data-testid="deny">Deny</button>
    </div>
  </form>`;
}

/** What happened to a settled request, in words: who approved or denied it, or that it expired or was cancelled. */
function renderOutcome(request: ReviewView['request']): string {
  const at = request.decidedAt ? ` on ${renderTime(request.decidedAt, 'decided')}` : '';
  const voters = (decision: Decision) =>
    request.votes
      .filter((v) => v.decision === decision)
      .map((v) => `<bdi>${text(v.approver)}</bdi>`)
      .join(', ');
  let what: string;
  switch (request.status) {
    case 'approved':
    case 'denied': {
      const label = request.status === 'approved' ? 'Approved' : 'Denied';
      const by =
        request.decidedBy === 'policy'
          ? `policy (rule <code>${text(request.rule)}</code>)`
          : voters(request.status === 'approved' ? 'approve' : 'deny') || 'the approvers';
      what = `<strong>${label}</strong> by ${by}${at}.`;
      break;
    }
    case 'expired':
      what = `<strong>Expired</strong>: nobody decided before the deadline${request.expiresAt ? `, ${renderTime(request.expiresAt, 'decided')}` : ''}.`;
      break;
    case 'cancelled':
      what = `<strong>Cancelled by the requester</strong>${at}.`;
      break;
    default:
      what = `This request is <strong>${STATUS_LABEL[request.status].toLowerCase()}</strong>${at}.`;
  }
  const reason = request.reason ? `<p>Reason: <q>${text(request.reason)}</q></p>` : '';
  return `<div class="outcome" data-testid="outcome"><p>${what} Nothing is left to decide.</p>${reason}</div>`;
}

function renderNotice(notice: NonNullable<ReviewView['notice']>): string {
  const role = notice.kind === 'error' ? 'alert' : 'status';
  return `<div class="notice notice-${notice.kind}" role="${role}" data-testid="notice"><p>${text(notice.text)}</p></div>`;
}

function renderParameters(parameters: Record<string, unknown> | undefined): string {
  if (!parameters || Object.keys(parameters).length === 0) return '<p class="none" data-testid="parameters">No parameters.</p>';
  let json: string;
  try {
    json = JSON.stringify(parameters, null, 2);
  } catch {
    // Parameters arrive as parsed JSON, so this is unreachable in practice; never show a half-rendered object.
    return '<p class="none" data-testid="parameters">The parameters could not be shown.</p>';
  }
  return `<pre class="long" tabindex="0" data-testid="parameters">${text(json)}</pre>`;
}

function renderAgent(agent: ReviewView['request']['agent']): string {
  const parts = [
    agent?.name ? `<span>name <bdi>${text(agent.name)}</bdi></span>` : '',
    agent?.model ? `<span>model <bdi>${text(agent.model)}</bdi></span>` : '',
    agent?.runId ? `<span>run <bdi>${text(agent.runId)}</bdi></span>` : '',
  ].filter(Boolean);
  return parts.length ? `<span class="agent" data-testid="agent">${parts.join(' · ')}</span>` : '<span class="none" data-testid="agent">not stated</span>';
}

function renderVotes(request: ReviewView['request'], approver: string): string {
  if (request.votes.length === 0) {
    return `<p class="none" data-testid="votes">${request.status === 'pending' ? 'No votes yet.' : 'No votes were cast.'}</p>`;
  }
  const items = request.votes
    .map(
      (v) => `<li class="vote vote-${v.decision}">
      <span class="verdict">${v.decision === 'approve' ? 'Approved' : 'Denied'}</span> by <bdi>${text(v.approver)}</bdi>${v.approver === approver ? ' (you)' : ''}
      <span class="when">${renderTime(v.at, 'vote')}</span>
      ${v.reason ? `<q>${text(v.reason)}</q>` : ''}
    </li>`,
    )
    .join('\n');
  return `<ul class="votes" data-testid="votes">${items}</ul>`;
}
