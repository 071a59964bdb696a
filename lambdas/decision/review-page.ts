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
import { escapeHtml } from '../core/html';
import { REASON_MAX_LENGTH } from '../core/records';
import { documentHtml, PAGE_SCRIPT, renderTime, row, text } from '../pages/kit';
import {
  type Notice,
  type RequestView,
  renderApprovers,
  renderContext,
  renderGrantChoice,
  renderGrantNote,
  renderNotice,
  renderOutcome,
  renderRisk,
  renderStatus,
  renderTimeLeft,
  renderVotes,
  summarySentence,
} from '../pages/request';

export { PAGE_SCRIPT };

export interface ReviewView {
  readonly request: RequestView;
  /** The approver this personal link belongs to. */
  readonly approver: string;
  /** When the approver is the requester or the person the agent acts for (under any alias): they cannot decide. */
  readonly self?: 'requester' | 'onBehalfOf';
  /** Path the form posts to (the same review URL). */
  readonly formAction: string;
  /** A notice to show above the request, e.g. after a decision or a refusal. */
  readonly notice?: Notice;
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

export function renderReviewPage(view: ReviewView): string {
  const { request, approver } = view;
  const now = view.now ?? new Date();
  const approvals = request.votes.filter((v) => v.decision === 'approve').length;
  const pending = request.status === 'pending';
  const title = `Review: ${request.action}`;

  // The first screen, at 390×844 too: what is asked in one sentence, the time left, the risk, and the decision.
  const body = `<header class="top">
  <p class="brand">Countersign · approval request</p>
  <h1 data-testid="summary">${summarySentence(request)}</h1>
  <p class="meta">${renderStatus(request.status)}
    <span>${approvals} of ${request.requiredApprovals} approval${request.requiredApprovals === 1 ? '' : 's'}</span>
    <span>Reviewing as <bdi data-testid="approver">${text(approver)}</bdi></span></p>
</header>
${view.notice ? renderNotice(view.notice) : ''}
${pending ? renderTimeLeft(request, now) : ''}
${renderRisk(request)}
<section aria-labelledby="h-decision" class="decision">
  <h2 id="h-decision">${pending ? 'Your decision' : 'Outcome'}</h2>
  ${renderDecision(view)}
</section>
${renderContext(request)}
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
    <textarea id="reason" name="reason" rows="${request.grantOffer ? 2 : 3}" maxlength="${REASON_MAX_LENGTH}" data-testid="reason"></textarea>
    ${renderGrantChoice(request)}
    <div class="buttons">
      <button type="submit" name="decision" value="approve" id="approve" class="approve" data-testid="approve">Approve</button>
      <button type="submit" name="decision" value="deny" id="deny" class="deny" data-testid="deny">Deny</button>
    </div>
    ${renderGrantNote(request)}
  </form>`;
}
