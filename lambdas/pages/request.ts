/**
 * A request as every page shows it (the review page, the console's inbox and request page): the view made from its
 * ledger state, the summary sentence, the risk cue, the time left, the outcome in words, the parameters, the agent's
 * justification marked as unverified, the approvers and their votes. Pure; every value escaped with `text()`, which
 * marks hidden characters.
 */
import { type ApprovalState, approversToAsk, publicView, statusOf } from '../core/approval';
import { spanWords } from '../core/dates';
import { escapeHtml } from '../core/html';
import type { IdentityDirectory } from '../core/identity';
import type { Decision, RequestStatus } from '../core/request';
import { canonicalText } from '../core/text';
import { optional, renderTime, row, text } from './kit';

export interface RequestView {
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
  /** When an approval lapsed unredeemed (its rule's `redeemWithin`); the status is then `expired`. */
  lapsedAt?: string;
  votes: Array<{ approver: string; decision: Decision; reason?: string; at: string }>;
  /** Everyone who may vote (the requester and onBehalfOf excluded), as their votes name them. */
  approvers?: string[];
  /** The rule marks the request high-risk (it requires sign-in on review links). */
  highRisk?: boolean;
}

/** A notice above a request, e.g. after a decision or a refusal. */
export interface Notice {
  readonly kind: 'success' | 'error' | 'info';
  readonly text: string;
}

/** The request as pages show it: as recorded (masked at intake), with who may vote and whether the rule is high-risk. */
export function requestView(state: ApprovalState, directory: IdentityDirectory): RequestView {
  const view = publicView(state) as RequestView;
  // Each approver as their vote names them (a vote records the member id, the rule may name an alias).
  const approvers = approversToAsk(state, directory).map((a) => state.votes.find((v) => directory.isOneOf(v.approver, [a]))?.approver ?? a);
  return {
    ...view,
    rule: view.rule ?? 'default',
    ...(state.request.parameters !== undefined ? { parameters: state.request.parameters } : {}),
    ...(state.request.justification !== undefined ? { justification: state.request.justification } : {}),
    ...(state.request.agent !== undefined ? { agent: state.request.agent } : {}),
    status: statusOf(state),
    approvers: [...new Set(approvers)],
    ...(state.policy?.requireSignIn ? { highRisk: true } : {}),
  };
}

export const STATUS_LABEL: Record<RequestStatus, string> = {
  pending: 'Pending',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

export function renderStatus(status: RequestStatus): string {
  return `<span class="status status-${escapeHtml(status)}" data-testid="status">${STATUS_LABEL[status]}</span>`;
}

/** "arn:aws:iam::…:role/agent asks to run data.export on arn:aws:s3:::customers in production." */
export function summarySentence(request: Pick<RequestView, 'status' | 'requester' | 'action' | 'resource' | 'environment'>): string {
  const verb = request.status === 'pending' ? 'asks' : 'asked';
  return `<bdi class="who">${text(request.requester)}</bdi> ${verb} to run <code data-testid="action">${text(request.action)}</code>${
    request.resource ? ` on <bdi class="what">${text(request.resource)}</bdi>` : ''
  }${request.environment ? ` in <bdi class="where">${text(request.environment)}</bdi>` : ''}`;
}

/** Production-like environment names: `prod`, `production`, `prd`, `live`, alone or as a word of the name. */
const PRODUCTION_LIKE = /(^|[^a-z0-9])(prod|production|prd|live)([^a-z0-9]|$)/i;

/** Why this request deserves a second look, if it does: a production-like environment, or a rule marked high-risk. */
export function riskCue(request: Pick<RequestView, 'environment' | 'highRisk' | 'rule'>): string | undefined {
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

/** The risk cue as a paragraph, or nothing. */
export function renderRisk(request: Pick<RequestView, 'environment' | 'highRisk' | 'rule'>): string {
  const risk = riskCue(request);
  return risk ? `<p class="risk" data-testid="risk"><strong>Caution:</strong> ${risk}</p>` : '';
}

/** The live time left: a sentence readable as rendered, which the page's script keeps current. */
export function renderTimeLeft(request: Pick<RequestView, 'expiresAt'>, now: Date): string {
  if (!request.expiresAt) return '<p class="time-left" data-testid="time-left">This request has no expiry.</p>';
  const deadline = new Date(request.expiresAt);
  if (Number.isNaN(deadline.getTime())) return '';
  const left = deadline.getTime() - now.getTime();
  return `<p class="time-left" data-testid="time-left"><strong data-countdown="${escapeHtml(deadline.toISOString())}">${escapeHtml(
    left > 0 ? `${spanWords(left)} left to decide` : 'The deadline has passed',
  )}</strong> · expires ${renderTime(request.expiresAt, 'time-left-at')}</p>`;
}

/** What happened to a settled request, in words: who approved or denied it, or that it expired or was cancelled. */
export function renderOutcome(request: RequestView): string {
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
      if (request.lapsedAt) {
        const by = request.decidedBy === 'policy' ? 'policy' : voters('approve') || 'the approvers';
        what = `<strong>Expired</strong>: approved by ${by}${at}, but not redeemed in time; the approval lapsed on ${renderTime(request.lapsedAt, 'lapsed')}.`;
        break;
      }
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

export function renderNotice(notice: Notice): string {
  const role = notice.kind === 'error' ? 'alert' : 'status';
  return `<div class="notice notice-${notice.kind}" role="${role}" data-testid="notice"><p>${text(notice.text)}</p></div>`;
}

export function renderParameters(parameters: Record<string, unknown> | undefined): string {
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

/** The justification, marked as the agent's own words that Countersign cannot check. */
export function renderJustification(justification: string | undefined): string {
  return `<p class="unverified" id="justification-note" data-testid="justification-note"><strong>Supplied by the agent, not verified.</strong>
    Countersign cannot check this text; judge the request by the action, resource and parameters above.</p>
  ${
    justification
      ? `<pre class="long prose" tabindex="0" data-testid="justification" aria-describedby="justification-note">${text(justification)}</pre>`
      : '<p class="none" data-testid="justification">No justification was given.</p>'
  }`;
}

export function renderAgent(agent: RequestView['agent']): string {
  const parts = [
    agent?.name ? `<span>name <bdi>${text(agent.name)}</bdi></span>` : '',
    agent?.model ? `<span>model <bdi>${text(agent.model)}</bdi></span>` : '',
    agent?.runId ? `<span>run <bdi>${text(agent.runId)}</bdi></span>` : '',
  ].filter(Boolean);
  return parts.length ? `<span class="agent" data-testid="agent">${parts.join(' · ')}</span>` : '<span class="none" data-testid="agent">not stated</span>';
}

/** Everyone who may vote, and where each stands; `viewer` is marked "(you)". */
export function renderApprovers(request: RequestView, viewer: string): string {
  if (!request.approvers?.length) return '';
  const pending = request.status === 'pending';
  const items = request.approvers
    .map((a) => {
      const vote = request.votes.find((v) => v.approver === a);
      const standing = vote ? (vote.decision === 'approve' ? 'approved' : 'denied') : pending ? 'may still vote' : 'did not vote';
      return `<li><bdi>${text(a)}</bdi>${a === viewer ? ' (you)' : ''}: <span class="standing">${standing}</span></li>`;
    })
    .join('\n');
  return `<ul class="approvers" data-testid="approvers">${items}</ul>`;
}

export function renderVotes(request: RequestView, viewer: string): string {
  if (request.votes.length === 0) {
    return `<p class="none" data-testid="votes">${request.status === 'pending' ? 'No votes yet.' : 'No votes were cast.'}</p>`;
  }
  const items = request.votes
    .map(
      (v) => `<li class="vote vote-${v.decision}">
      <span class="verdict">${v.decision === 'approve' ? 'Approved' : 'Denied'}</span> by <bdi>${text(v.approver)}</bdi>${v.approver === viewer ? ' (you)' : ''}
      <span class="when">${renderTime(v.at, 'vote')}</span>
      ${v.reason ? `<q>${text(v.reason)}</q>` : ''}
    </li>`,
    )
    .join('\n');
  return `<ul class="votes" data-testid="votes">${items}</ul>`;
}

/** How many approvals of how many: "1 of 2 approvals". */
export function approvalsWords(request: Pick<RequestView, 'votes' | 'requiredApprovals'>): string {
  const approvals = request.votes.filter((v) => v.decision === 'approve').length;
  return `${approvals} of ${request.requiredApprovals} approval${request.requiredApprovals === 1 ? '' : 's'}`;
}

/** Quorum progress: the words, and a bar that repeats them for the eye (hidden from screen readers). */
export function renderProgress(request: Pick<RequestView, 'votes' | 'requiredApprovals'>): string {
  const approvals = request.votes.filter((v) => v.decision === 'approve').length;
  const share = request.requiredApprovals > 0 ? Math.min(100, Math.round((approvals / request.requiredApprovals) * 100)) : 100;
  return `<span class="quorum" data-testid="quorum"><span class="progress" aria-hidden="true"><span style="width:${share}%"></span></span> ${escapeHtml(
    approvalsWords(request),
  )}</span>`;
}

/**
 * The request's context as every page shows it: what the agent wants to do (action, resource, environment, the
 * parameters, then `afterParameters`), why in its own words (marked unverified), and who is asking.
 */
export function renderContext(request: RequestView, afterParameters = ''): string {
  return `<section aria-labelledby="h-what">
  <h2 id="h-what">What the agent wants to do</h2>
  <dl>
    ${row('Action', `<code>${text(request.action)}</code>`)}
    ${row('Resource', optional(request.resource, 'resource'))}
    ${row('Environment', optional(request.environment, 'environment'))}
  </dl>
  <h3>Parameters</h3>
  ${renderParameters(request.parameters)}${afterParameters ? `\n  ${afterParameters}` : ''}
</section>
<section aria-labelledby="h-why">
  <h2 id="h-why">Why, in the agent's words</h2>
  ${renderJustification(request.justification)}
</section>
<section aria-labelledby="h-who">
  <h2 id="h-who">Who is asking</h2>
  <dl>
    ${row('Requester', `<bdi data-testid="requester">${text(request.requester)}</bdi>`)}
    ${row('On behalf of', optional(request.onBehalfOf, 'on-behalf-of'))}
    ${row('Agent', renderAgent(request.agent))}
  </dl>
</section>`;
}
