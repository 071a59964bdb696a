/**
 * The approver's review page (docs/api.md "The review page"): `GET /v1/review/{reviewToken}` shows it, and only its
 * form's POST decides (docs/design.md "Decisions, and why": GET never changes state). Pure: the handler loads and
 * masks the request, then renders.
 *
 * Almost everything shown is agent-supplied, so every value is escaped, hidden characters (core/text.ts: bidi
 * controls, zero-width and tag characters, controls) are marked visibly (an RTL override could make `prod` read as
 * `dorp`), and the page carries no script and no external
 * resource at all, which lets its CSP forbid both outright.
 */
import { escapeHtml } from '../core/html';
import { REASON_MAX_LENGTH } from '../core/records';
import type { Decision, RequestStatus } from '../core/request';
import { markHidden } from '../core/text';

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

/** Headers every review response carries. */
export const REVIEW_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  // The page has no script and no external resource; inline styles are its only need.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
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

const DECIDED_BY: Readonly<Record<string, string>> = {
  policy: 'by policy',
  approvers: 'by the approvers',
  timeout: 'because nobody decided in time',
  requester: 'by the requester',
};

export function renderReviewPage(view: ReviewView): string {
  const { request, approver } = view;
  const now = view.now ?? new Date();
  const approvals = request.votes.filter((v) => v.decision === 'approve').length;
  const title = `Review: ${request.action}`;

  const body = `<header class="top">
  <p class="brand">Countersign · approval request</p>
  <h1><span class="sr">Action </span><code data-testid="action">${text(request.action)}</code></h1>
  <p class="meta"><span class="status status-${escapeHtml(request.status)}" data-testid="status">${STATUS_LABEL[request.status]}</span>
    <span>${approvals} of ${request.requiredApprovals} approval${request.requiredApprovals === 1 ? '' : 's'}</span>
    <span>Reviewing as <bdi data-testid="approver">${text(approver)}</bdi></span></p>
</header>
${view.notice ? renderNotice(view.notice) : ''}
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
<section aria-labelledby="h-who">
  <h2 id="h-who">Who is asking</h2>
  <dl>
    ${row('Requester', `<bdi data-testid="requester">${text(request.requester)}</bdi>`)}
    ${row('On behalf of', optional(request.onBehalfOf, 'on-behalf-of'))}
    ${row('Agent', renderAgent(request.agent))}
  </dl>
</section>
<section aria-labelledby="h-why">
  <h2 id="h-why">Why</h2>
  <p class="unverified" id="justification-note" data-testid="justification-note"><strong>Supplied by the agent, not verified.</strong>
    Countersign cannot check this text; judge the request by the action, resource and parameters above.</p>
  ${
    request.justification
      ? `<pre class="long prose" tabindex="0" data-testid="justification" aria-describedby="justification-note">${text(request.justification)}</pre>`
      : '<p class="none" data-testid="justification">No justification was given.</p>'
  }
</section>
<section aria-labelledby="h-policy">
  <h2 id="h-policy">Policy</h2>
  <dl>
    ${row('Rule', `<code data-testid="rule">${text(request.rule)}</code>`)}
    ${row('Approvals', `<span data-testid="approvals">${approvals} of ${request.requiredApprovals} needed</span> <span class="hint">(one deny settles it as denied)</span>`)}
    ${row('Requested', renderTime(request.createdAt, now, 'created'))}
    ${row('Expires', request.expiresAt ? renderTime(request.expiresAt, now, 'expires') : '<span class="none" data-testid="expires">no expiry</span>')}
    ${row('Request id', `<code>${text(request.id)}</code>`)}
  </dl>
</section>
<section aria-labelledby="h-votes">
  <h2 id="h-votes">Votes</h2>
  ${renderVotes(request.votes, approver, now)}
</section>
<section aria-labelledby="h-decision" class="decision">
  <h2 id="h-decision">Your decision</h2>
  ${renderDecision(view, now)}
</section>`;
  return documentHtml(title, body);
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

function renderDecision(view: ReviewView, now: Date): string {
  const { request, approver } = view;
  const own = request.votes.find((v) => v.approver === approver);
  if (request.status !== 'pending') {
    const by = request.decidedBy ? ` ${DECIDED_BY[request.decidedBy] ?? `by ${text(request.decidedBy)}`}` : '';
    const at = request.decidedAt ? ` on ${renderTime(request.decidedAt, now, 'decided')}` : '';
    const reason = request.reason ? `<p>Reason: <q>${text(request.reason)}</q></p>` : '';
    return `<div class="outcome" data-testid="outcome"><p>This request is <strong>${STATUS_LABEL[request.status].toLowerCase()}</strong>${by}${at}. Nothing is left to decide.</p>${reason}</div>`;
  }
  if (own) {
    const remaining = Math.max(0, request.requiredApprovals - request.votes.filter((v) => v.decision === 'approve').length);
    return `<div class="outcome" data-testid="outcome"><p>You ${own.decision === 'approve' ? 'approved' : 'denied'} this request on ${renderTime(own.at, now, 'voted')}.
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

function renderVotes(votes: ReviewView['request']['votes'], approver: string, now: Date): string {
  if (votes.length === 0) return '<p class="none" data-testid="votes">No votes yet.</p>';
  const items = votes
    .map(
      (v) => `<li class="vote vote-${v.decision}">
      <span class="verdict">${v.decision === 'approve' ? 'Approved' : 'Denied'}</span> by <bdi>${text(v.approver)}</bdi>${v.approver === approver ? ' (you)' : ''}
      <span class="when">${renderTime(v.at, now, 'vote')}</span>
      ${v.reason ? `<q>${text(v.reason)}</q>` : ''}
    </li>`,
    )
    .join('\n');
  return `<ul class="votes" data-testid="votes">${items}</ul>`;
}

function row(label: string, valueHtml: string): string {
  return `<div class="row"><dt>${label}</dt><dd>${valueHtml}</dd></div>`;
}

function optional(value: string | undefined, testid: string): string {
  return value ? `<bdi data-testid="${testid}">${text(value)}</bdi>` : `<span class="none" data-testid="${testid}">not given</span>`;
}

/** ISO time for the machine and the reader, a human date, and for expiry how far away it is. */
function renderTime(iso: string, now: Date, testid: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return `<span data-testid="${testid}">${text(iso)}</span>`;
  const human = humanDate().format(date);
  const relative = relativeTime(date.getTime() - now.getTime());
  return `<time datetime="${escapeHtml(date.toISOString())}" data-testid="${testid}">${escapeHtml(human)} UTC <span class="hint">(${escapeHtml(relative)}, <span class="iso">${escapeHtml(date.toISOString())}</span>)</span></time>`;
}

/**
 * The human date's format, made on the first page that shows a time rather than when the module loads: building an
 * Intl.DateTimeFormat costs milliseconds of the decision function's cold start, which most invocations never need.
 */
let humanDateFormat: Intl.DateTimeFormat | undefined;
function humanDate(): Intl.DateTimeFormat {
  humanDateFormat ??= new Intl.DateTimeFormat('en-GB', {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: 'UTC',
  });
  return humanDateFormat;
}

function relativeTime(deltaMs: number): string {
  const abs = Math.abs(deltaMs);
  const minutes = Math.round(abs / 60_000);
  let span: string;
  if (abs < 60_000) span = 'less than a minute';
  else if (minutes < 90) span = plural(minutes, 'minute');
  else if (minutes < 48 * 60) span = plural(Math.round(minutes / 60), 'hour');
  else span = plural(Math.round(minutes / (24 * 60)), 'day');
  return deltaMs >= 0 ? `in ${span}` : `${span} ago`;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** Escapes a value for HTML text, then marks each hidden character (core/text.ts) with a visible `U+XXXX` span. */
function text(value: unknown): string {
  return markHidden(escapeHtml(value), (name) => `<span class="hidden-char" title="invisible character ${name}">${name}</span>`);
}

/** The same for places that cannot hold markup (`<title>`): `[U+XXXX]`. */
function plainText(value: unknown): string {
  return markHidden(escapeHtml(value));
}

function documentHtml(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${plainText(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f4f5f7}
main{max-width:46rem;margin:0 auto;padding:1rem 1rem 3rem}
.top{padding:.5rem 0 .25rem}
.brand{margin:0;color:#5b6472;font-size:.85rem;letter-spacing:.02em}
h1{margin:.25rem 0 .5rem;font-size:1.45rem;line-height:1.25;overflow-wrap:anywhere}
h1 code{font-size:inherit}
h2{margin:0 0 .6rem;font-size:1.05rem}
h3{margin:.9rem 0 .4rem;font-size:.9rem;color:#3a4150}
section{background:#fff;border:1px solid #d9dde4;border-radius:10px;padding:.9rem 1rem;margin:.9rem 0}
.meta{display:flex;flex-wrap:wrap;gap:.4rem .9rem;align-items:center;margin:0;color:#3a4150;font-size:.9rem}
.meta bdi{overflow-wrap:anywhere}
.status{display:inline-block;padding:.1rem .55rem;border-radius:999px;font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.status-pending{background:#fff4d6;color:#7a5200}
.status-approved{background:#dcf5e3;color:#135c2a}
.status-denied{background:#fde3e1;color:#8f1d14}
.status-expired,.status-cancelled{background:#e8eaee;color:#3a4150}
dl{margin:0}
.row{display:grid;grid-template-columns:9rem 1fr;gap:.75rem;padding:.35rem 0;border-top:1px solid #eef0f3}
.row:first-child{border-top:0}
dt{color:#5b6472;font-size:.9rem}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
bdi{unicode-bidi:isolate}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext;background:#f5f6f8;border:1px solid #e3e6eb;border-radius:6px;padding:.6rem .7rem}
pre.long{max-height:22rem;overflow:auto}
pre.prose{font-family:inherit;font-size:.95rem}
.iso{white-space:nowrap}
.none{color:#69707d;font-style:italic}
.hint{color:#69707d;font-size:.85em}
.unverified{margin:0 0 .6rem;padding:.5rem .7rem;border-left:4px solid #d48a00;background:#fff8e6;font-size:.9rem}
.hidden-char{display:inline-block;margin:0 .1em;padding:0 .25em;border:1px solid #c0392b;border-radius:3px;color:#a3261a;background:#fff0ee;font:600 .75em/1.3 ui-monospace,monospace;font-style:normal}
.votes{list-style:none;margin:0;padding:0}
.vote{padding:.45rem 0;border-top:1px solid #eef0f3;overflow-wrap:anywhere}
.vote:first-child{border-top:0}
.vote q{display:block;margin-top:.2rem;color:#3a4150}
.verdict{font-weight:600}
.vote-approve .verdict{color:#135c2a}
.vote-deny .verdict{color:#8f1d14}
.when{display:block;font-size:.85rem}
.notice{border-radius:8px;padding:.2rem 1rem;margin:.9rem 0;border:1px solid}
.notice-success{background:#e6f6ea;border-color:#8fd0a2;color:#135c2a}
.notice-error{background:#fdecea;border-color:#eea49c;color:#8f1d14}
.notice-info{background:#e8f0fd;border-color:#a7c0ee;color:#1d3f7a}
.notice p{overflow-wrap:anywhere}
.decision{border-width:2px;border-color:#b9c0cc}
label{display:block;font-weight:600;margin-bottom:.3rem}
textarea{display:block;width:100%;font:inherit;padding:.5rem .6rem;border:1px solid #b9c0cc;border-radius:6px;resize:vertical}
.buttons{display:flex;gap:.75rem;margin-top:.9rem}
button{flex:1;min-height:3rem;font-family:inherit;font-size:1.05rem;font-weight:600;border-radius:8px;border:2px solid;cursor:pointer}
.approve{background:#1a7f37;border-color:#1a7f37;color:#fff}
.approve:hover{background:#146c2e}
.deny{background:#fff;border-color:#b42318;color:#b42318}
.deny:hover{background:#fdecea}
button:focus-visible,textarea:focus-visible,pre:focus-visible{outline:3px solid #2f6feb;outline-offset:2px}
.outcome p{margin:.2rem 0}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:34rem){
  main{padding:.6rem .6rem 2rem}
  .row{grid-template-columns:1fr;gap:.1rem}
  h1{font-size:1.25rem}
}
`;
