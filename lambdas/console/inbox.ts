/**
 * The approver's inbox (`GET /console`): what waits for me, oldest deadline first, each decided in place; then my
 * past decisions from the ledger.
 *
 * The first screen, on a 390×844 phone too, holds the first card's summary sentence, its time left and its Approve
 * and Deny: the header is one compact line or two, and each card puts the decision right under what is asked.
 */
import { type HistoryEntry, readHistory } from '../app/history';
import { pendingFor } from '../app/vote';
import { type ApprovalState, statusOf } from '../core/approval';
import { escapeHtml } from '../core/html';
import type { IdentityDirectory } from '../core/identity';
import { renderTime, text } from '../pages/kit';
import { renderProgress, renderRisk, renderStatus, renderTimeLeft, requestView, summarySentence } from '../pages/request';
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';
import { decisionForm, requestPath } from './request-page';
import type { Viewer } from './viewer';

/** Past decisions are the viewer's votes on requests made in this many days. */
export const PAST_DECISIONS_DAYS = 30;

/**
 * The longest the inbox reads the ledger for past decisions before it shows what it has and says so: the inbox is the
 * page approvers open most, so it answers well inside the console's longer budget (`CONSOLE_WORK_MS`) for search.
 */
export const PAST_DECISIONS_WORK_MS = 6_000;

/** At most this many past decisions are listed, newest first. */
export const PAST_DECISIONS_SHOWN = 50;

export const showInbox: ConsoleRoute = async (_event, { ports, viewer, exportSource }) => {
  const directory = ports.policy.directory();
  const now = ports.clock.now();
  // Only someone a policy group names can ever have voted: nobody else's inbox reads the ledger.
  const [waiting, history] = await Promise.all([
    pendingFor(ports, viewer.principal),
    viewer.approver
      ? readHistory(exportSource(), {
          since: new Date(now.getTime() - PAST_DECISIONS_DAYS * 86_400_000).toISOString(),
          deadline: Date.now() + PAST_DECISIONS_WORK_MS,
        })
      : { requests: [], complete: true, records: 0 },
  ]);
  return consolePage(viewer, {
    title: 'Inbox',
    section: 'inbox',
    css: INBOX_CSS,
    body: renderInbox({ viewer, directory, now, waiting, history: history.requests, complete: history.complete }),
  });
};

export interface InboxInput {
  readonly viewer: Pick<Viewer, 'principal' | 'csrf'>;
  readonly directory: IdentityDirectory;
  readonly now: Date;
  /** The requests waiting for the viewer's vote (`pendingFor`). */
  readonly waiting: readonly ApprovalState[];
  /** The requests of the window read for past decisions. */
  readonly history: readonly HistoryEntry[];
  /** Whether the whole window was read. */
  readonly complete: boolean;
}

/** The inbox's content (inside the console's frame). Pure. */
export function renderInbox(input: InboxInput): string {
  const { viewer, directory, now } = input;
  // Oldest deadline first; a request without one after all that have one; then oldest made first.
  const deadline = (s: ApprovalState) => (s.policy?.expiresAt ? Date.parse(s.policy.expiresAt) : Number.POSITIVE_INFINITY);
  const waiting = [...input.waiting].sort((a, b) => deadline(a) - deadline(b) || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  const cards = waiting
    .map((state, i) => {
      const request = requestView(state, directory);
      return `<li class="card" data-testid="inbox-card" data-request="${escapeHtml(request.id)}">
  <h2 class="summary"><a href="${escapeHtml(requestPath(request.id))}" data-testid="summary">${summarySentence(request)}</a></h2>
  ${renderTimeLeft(request, now)}
  ${renderRisk(request)}
  <p class="card-meta">${renderProgress(request)} <span class="hint">rule <code>${text(request.rule)}</code> · asked ${renderTime(request.createdAt, 'created', now)}</span></p>
  ${decisionForm(request, viewer, String(i + 1))}
</li>`;
    })
    .join('\n');
  const heading = waiting.length ? `${waiting.length} request${waiting.length === 1 ? '' : 's'} waiting for you` : 'Nothing waits for you';
  return `<h1 class="inbox-title" data-testid="inbox-title">${heading}</h1>
${
  waiting.length
    ? `<ol class="cards" data-testid="inbox">${cards}</ol>`
    : '<p class="none" data-testid="inbox-empty">No request is waiting for your decision. When an agent asks for something you approve, it shows here, soonest deadline first.</p>'
}
${renderPastDecisions(input)}`;
}

function renderPastDecisions({ viewer, directory, history, complete }: InboxInput): string {
  const mine = history
    .flatMap((entry) => entry.state.votes.filter((v) => directory.samePerson(v.approver, viewer.principal)).map((vote) => ({ state: entry.state, vote })))
    .sort((a, b) => (a.vote.at > b.vote.at ? -1 : a.vote.at < b.vote.at ? 1 : 0));
  const partial = complete
    ? ''
    : `<p class="notice notice-info" role="status" data-testid="past-partial">The ledger took too long to read in full: these are your decisions on the requests read so far, not all of the last ${PAST_DECISIONS_DAYS} days.</p>`;
  const items = mine
    .slice(0, PAST_DECISIONS_SHOWN)
    .map(({ state, vote }) => {
      const request = requestView(state, directory);
      return `<li class="past" data-testid="past-decision" data-request="${escapeHtml(request.id)}">
  <p><span class="verdict ${vote.decision === 'approve' ? 'ok' : 'bad'}">You ${vote.decision === 'approve' ? 'approved' : 'denied'}</span> ${renderTime(vote.at, 'past-at')}
    · now ${renderStatus(statusOf(state))}</p>
  <p><a href="${escapeHtml(requestPath(request.id))}">${summarySentence(request)}</a></p>
  ${vote.reason ? `<p class="hint">Your reason: <q>${text(vote.reason)}</q></p>` : ''}
</li>`;
    })
    .join('\n');
  const more = mine.length > PAST_DECISIONS_SHOWN ? `<p class="hint">The ${PAST_DECISIONS_SHOWN} newest of ${mine.length} are shown.</p>` : '';
  return `<section aria-labelledby="h-past" class="past-decisions">
  <h2 id="h-past">My past decisions <span class="hint">(requests of the last ${PAST_DECISIONS_DAYS} days)</span></h2>
  ${partial}
  ${
    mine.length
      ? `<ul class="past-list" data-testid="past-decisions">${items}</ul>${more}`
      : `<p class="none" data-testid="past-empty">You have not decided any request made in the last ${PAST_DECISIONS_DAYS} days.</p>`
  }
</section>`;
}

/** What the inbox adds to the console's stylesheet: compact cards whose decision sits right under the summary. */
export const INBOX_CSS = `
.inbox-title{font-size:1rem;margin:.1rem 0 .2rem;color:#3a4150}
.card .summary{font-size:1.02rem;font-weight:600;line-height:1.3;margin:0 0 .2rem}
.card .summary a{color:#1d2330;text-decoration:none}
.card .summary a:hover,.card .summary a:focus-visible{text-decoration:underline}
.card .time-left{margin:.2rem 0}
.card .risk{margin:.3rem 0;padding:.3rem .6rem;font-size:.9rem}
.card-meta{margin:.2rem 0 .3rem;font-size:.88rem;display:flex;flex-wrap:wrap;gap:.2rem .6rem;align-items:center}
.quorum{display:inline-flex;align-items:center;gap:.4rem}
.decide label{font-size:.9rem;margin:.2rem 0 .2rem}
.decide textarea{min-height:2.6rem}
.decide .buttons{margin-top:.5rem}
.decide button{min-height:2.75rem}
.past-list{list-style:none;margin:0;padding:0}
.past{border-top:1px solid #eef0f3;padding:.45rem 0}
.past:first-child{border-top:0}
.past p{margin:.1rem 0;overflow-wrap:anywhere}
.past .verdict.ok{color:#135c2a;font-weight:600}
.past .verdict.bad{color:#8f1d14;font-weight:600}
@media (max-width:34rem){
  .card{padding:.6rem .7rem;margin:.5rem 0}
}
`;
