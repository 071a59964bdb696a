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
import { formatUtc, relativeWords, spanWords } from '../core/dates';
import { escapeHtml } from '../core/html';
import { REASON_MAX_LENGTH } from '../core/records';
import type { Decision, RequestStatus } from '../core/request';
import { canonicalText, markHidden } from '../core/text';

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

/**
 * The page's own script, the only one its CSP allows (by hash). It rewrites each `<time data-local>` in the viewer's
 * time zone ("29 Nov 2026, 22:43 CET"), and keeps `[data-countdown]` ("58 minutes left to decide") and `[data-relative]`
 * ("in 58 minutes") current, in the words core/dates.ts uses. It reads only attributes the server wrote.
 */
export const PAGE_SCRIPT = `(function(){
var M=['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'];
function two(n){return (n<10?'0':'')+n}
function zone(d){try{var p=new Intl.DateTimeFormat('en-GB',{timeZoneName:'short'}).formatToParts(d);for(var i=0;i<p.length;i++)if(p[i].type==='timeZoneName')return p[i].value}catch(e){}return ''}
function local(d){return d.getDate()+' '+M[d.getMonth()]+' '+d.getFullYear()+', '+two(d.getHours())+':'+two(d.getMinutes())+' '+zone(d)}
function span(ms){var a=Math.abs(ms),m=Math.round(a/60000);if(a<60000)return 'less than a minute';if(m<90)return m+' minute'+(m===1?'':'s');var h=Math.round(m/60);if(m<2880)return h+' hour'+(h===1?'':'s');var d=Math.round(m/1440);return d+' day'+(d===1?'':'s')}
function each(sel,f){var n=document.querySelectorAll(sel);for(var i=0;i<n.length;i++)f(n[i])}
each('time[data-local]',function(t){var d=new Date(t.getAttribute('datetime'));if(!isNaN(d))t.textContent=local(d)});
function tick(){var now=Date.now();
each('[data-countdown]',function(e){var ms=Date.parse(e.getAttribute('data-countdown'))-now;e.textContent=ms>0?span(ms)+' left to decide':'The deadline has passed'});
each('[data-relative]',function(e){var ms=Date.parse(e.getAttribute('data-relative'))-now;e.textContent=ms>=0?'in '+span(ms):span(ms)+' ago'})}
tick();setInterval(tick,15000);
})();`;

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
  return documentHtml(title, body, true);
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

function row(label: string, valueHtml: string): string {
  return `<div class="row"><dt>${label}</dt><dd>${valueHtml}</dd></div>`;
}

function optional(value: string | undefined, testid: string): string {
  return value ? `<bdi data-testid="${testid}">${text(value)}</bdi>` : `<span class="none" data-testid="${testid}">not given</span>`;
}

/**
 * A moment as every page shows it: "29 Nov 2026, 21:43 UTC" (the page's script rewrites it in the viewer's time zone),
 * the exact UTC time on hover, and with `now` how far away it is, which the script keeps current.
 */
function renderTime(iso: string, testid: string, now?: Date): string {
  const date = new Date(iso);
  const human = formatUtc(date);
  if (!human) return `<span data-testid="${testid}">${text(iso)}</span>`;
  const exact = date.toISOString();
  const time = `<time datetime="${escapeHtml(exact)}" title="${escapeHtml(`${exact.slice(0, 10)} ${exact.slice(11, 19)} UTC`)}" data-local data-testid="${testid}">${escapeHtml(human)}</time>`;
  if (!now) return time;
  return `${time} <span class="hint">(<span data-relative="${escapeHtml(exact)}">${escapeHtml(relativeWords(date.getTime() - now.getTime()))}</span>)</span>`;
}

/** Escapes a value for HTML text, then marks each hidden character (core/text.ts) with a visible `U+XXXX` span. */
function text(value: unknown): string {
  return markHidden(escapeHtml(value), (name) => `<span class="hidden-char" title="invisible character ${name}">${name}</span>`);
}

/** The same for places that cannot hold markup (`<title>`): `[U+XXXX]`. */
function plainText(value: unknown): string {
  return markHidden(escapeHtml(value));
}

function documentHtml(title: string, body: string, script = false): string {
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
</main>${script ? `\n<script>${PAGE_SCRIPT}</script>` : ''}
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
.risk{margin:.6rem 0;padding:.5rem .75rem;border-left:4px solid #b42318;background:#fdecea;color:#8f1d14;overflow-wrap:anywhere}
.time-left{margin:.5rem 0;font-size:1rem;overflow-wrap:anywhere}
.time-left strong{color:#7a5200}
h1 bdi,h1 code{overflow-wrap:anywhere}
h1{font-size:1.15rem;font-weight:600}
h1 code{background:#eef0f3;padding:0 .2em;border-radius:4px}
.approvers{margin:0 0 .6rem;padding-left:1.2rem;overflow-wrap:anywhere}
.standing{color:#5b6472}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:34rem){
  main{padding:.6rem .6rem 2rem}
  .row{grid-template-columns:1fr;gap:.1rem}
  h1{font-size:1.05rem}
  .decision textarea{min-height:3.2rem}
}
`;
