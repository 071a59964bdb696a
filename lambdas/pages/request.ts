/**
 * A request as every page shows it (the review page, the console's inbox and request page): the view made from its
 * ledger state, the summary sentence, the risk cue, the time left, the outcome in words, the parameters, the agent's
 * justification marked as unverified, the approvers and their votes. Pure; every value escaped with `text()`, which
 * marks hidden characters.
 */
import { type ApprovalState, approversToAsk, publicView, statusOf } from '../core/approval';
import { spanWords } from '../core/dates';
import { type GrantOffer, type GrantScopeField, type GrantUse, grantChoices, grantLengthWords } from '../core/grant';
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
  /** `forSeconds`: the vote approved for a while (a grant). */
  votes: Array<{ approver: string; decision: Decision; reason?: string; forSeconds?: number; at: string }>;
  /** Everyone who may vote (the requester and onBehalfOf excluded), as their votes name them. */
  approvers?: string[];
  /** The rule marks the request high-risk (it requires sign-in on review links). */
  highRisk?: boolean;
  /** The rule lets approvers approve for a while (a grant), up to its maxFor. */
  grantOffer?: Pick<GrantOffer, 'maxForSeconds' | 'scope'>;
  /** The grant this approval made: its id and when it lapses. */
  grant?: { id: string; until: string };
  /** The grant's revocation, once revoked. */
  grantRevoked?: { by: string; reason: string; at: string };
  /** Approved at once by a grant: which, the request whose approval made it, until when, and who made it. */
  grantedBy?: GrantUse;
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
    ...(state.policy?.grant ? { grantOffer: { maxForSeconds: state.policy.grant.maxForSeconds, scope: state.policy.grant.scope } } : {}),
    ...(state.grantRevoked ? { grantRevoked: state.grantRevoked } : {}),
    ...(state.policy?.grantedBy ? { grantedBy: state.policy.grantedBy } : {}),
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
          : request.decidedBy === 'grant' && request.grantedBy
            ? grantUseWords(request.grantedBy)
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
  return `<div class="outcome" data-testid="outcome"><p>${what} Nothing is left to decide.</p>${reason}${request.grant ? renderGrantMade(request) : ''}</div>`;
}

/** "a grant (grt_…), made when alice approved act_… for a while, until …". */
function grantUseWords(use: GrantUse): string {
  const who = use.approvers.map((a) => `<bdi>${text(a)}</bdi>`).join(', ');
  return `a grant (<code data-testid="granted-by">${text(use.grant)}</code>, made when ${who || 'its approvers'} approved request <code>${text(
    use.request,
  )}</code> for a while, holding until ${renderTime(use.until, 'granted-until')})`;
}

/** The grant an approval made: until when, and whether it still holds. */
function renderGrantMade(request: RequestView): string {
  const grant = request.grant!;
  const state = request.grantRevoked
    ? ` It was revoked on ${renderTime(request.grantRevoked.at, 'grant-revoked-at')} by <bdi>${text(request.grantRevoked.by)}</bdi>: <q>${text(request.grantRevoked.reason)}</q>.`
    : '';
  return `<p data-testid="grant-made">Approved <strong>for a while</strong>: grant <code>${text(grant.id)}</code> approves later requests by <bdi>${text(
    request.requester,
  )}</bdi> ${grantScopeWords(request)} without asking, until ${renderTime(grant.until, 'grant-until')}.${state}</p>`;
}

/** What a grant on this request would cover, in words: "to run db.migrate on orders (rule migrations decides them)". */
export function grantScopeWords(request: RequestView, scope: readonly GrantScopeField[] = request.grantOffer?.scope ?? []): string {
  const pinned = new Set(scope);
  const value = (field: 'resource' | 'environment' | 'onBehalfOf', present: (v: string) => string, absent: string) => {
    if (!pinned.has(field)) return '';
    const v = request[field];
    return v === undefined ? ` ${absent}` : ` ${present(`<bdi>${text(v)}</bdi>`)}`;
  };
  const agent = pinned.has('agent') ? (request.agent?.name ? ` from agent <bdi>${text(request.agent.name)}</bdi>` : ' from an unnamed agent') : '';
  return `${pinned.has('action') ? `to run <code>${text(request.action)}</code>` : 'for any action'}${value('resource', (v) => `on ${v}`, 'with no resource')}${value(
    'environment',
    (v) => `in ${v}`,
    'with no environment',
  )}${value('onBehalfOf', (v) => `on behalf of ${v}`, 'on behalf of nobody')}${agent} that rule <code>${text(request.rule)}</code> decides`;
}

/**
 * The approver's choice on a decision form when the rule offers grants: this call only (the default), or approve
 * for a while, up to the rule's maxFor, sent as the form's `for`. `key` tells apart the forms of one page.
 */
export function renderGrantChoice(request: RequestView, key = ''): string {
  if (!request.grantOffer) return '';
  const id = `for${key ? `-${key}` : ''}`;
  const options = grantChoices(request.grantOffer.maxForSeconds)
    .map((c) => `<option value="${escapeHtml(c.for)}">${escapeHtml(c.words)}</option>`)
    .join('');
  return `<div class="grant-choice"><label for="${escapeHtml(id)}">Approve for</label>
      <select id="${escapeHtml(id)}" name="for" data-testid="for" aria-describedby="${escapeHtml(id)}-note"><option value="" selected>this call only</option>${options}</select></div>`;
}

/** Under the buttons: what approving for a while does, in words. */
export function renderGrantNote(request: RequestView, key = ''): string {
  if (!request.grantOffer) return '';
  const id = `for${key ? `-${key}` : ''}-note`;
  return `<p class="hint grant-note" id="${escapeHtml(id)}" data-testid="grant-note">Approving for a while (up to ${escapeHtml(
    grantLengthWords(request.grantOffer.maxForSeconds),
  )}) also approves later requests by <bdi>${text(request.requester)}</bdi> ${grantScopeWords(request)}, without asking anyone, until that time has passed; an approver of the rule or an auditor can revoke it.${
    request.requiredApprovals > 1 ? ' A grant is made only if every approving vote chooses a while.' : ''
  } Deny is for this call only.</p>`;
}

/** A decision form's `for`, when it approves for a while: an empty choice, or any choice with Deny, is this call only. */
export function formFor(form: URLSearchParams): { for?: string } {
  const value = form.get('for') ?? '';
  return value !== '' && form.get('decision') === 'approve' ? { for: value } : {};
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
      <span class="verdict">${v.decision === 'approve' ? 'Approved' : 'Denied'}</span>${
        v.forSeconds ? ` for ${escapeHtml(grantLengthWords(v.forSeconds))}` : ''
      } by <bdi>${text(v.approver)}</bdi>${v.approver === viewer ? ' (you)' : ''}
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
