/**
 * A request's whole story (`GET /console/requests/{id}`), and deciding it in place (`POST …/decision`).
 *
 * Shown to whoever may read the request (its requester, approvers and auditors: `readableRequest`, 404 to anyone
 * else, as on the API). First what is asked, its status and its time left or what happened, the risk cue and the
 * decision; then the full context as recorded (masked at intake), quorum progress, the ledger's timeline with each
 * record's signature checked against the ledger key, and an approval's receipt when the viewer is the requester (the
 * receipt holds the parameters salt: the API gives it to nobody else).
 */
import { createPublicKey } from 'node:crypto';
import type { HttpResult } from '../adapters/http';
import { revokeBodySchema, revokeGrant } from '../app/grants';
import { completeOutcome } from '../app/outcome';
import { readAuditEvidence } from '../app/read';
import { castVote } from '../app/vote';
import { type ApprovalState, awaitsVoteFrom, deriveState, isApprover, isRequester, isSelf, mayRevokeGrant, statusOf, stillMissing } from '../core/approval';
import { CountersignError } from '../core/errors';
import { GRANT_ID_PATTERN, grantLengthWords, grantStatus, requestIdOfGrant } from '../core/grant';
import { escapeHtml } from '../core/html';
import type { IdentityDirectory } from '../core/identity';
import { type AuditRecord, verifyChain } from '../core/ledger-record';
import { receiptClaimsSchema, verifyReceipt } from '../core/receipt';
import { REASON_MAX_LENGTH, voteSchema } from '../core/records';
import { REQUEST_ID_PATTERN } from '../core/request';
import type { SigningCertificate } from '../core/signing-certificate';
import { renderTime, row, text } from '../pages/kit';
import {
  formFor,
  type Notice,
  type RequestView,
  renderApprovers,
  renderContext,
  renderGrantChoice,
  renderGrantNote,
  renderNotice,
  renderOutcome,
  renderProgress,
  renderRisk,
  renderStatus,
  renderTimeLeft,
  renderVotes,
  requestView,
  summarySentence,
} from '../pages/request';
import type { ConsoleContext, ConsoleRoute } from './context';
import { consolePage } from './layout';
import { type ConsolePorts, checkForm, formOf, type Viewer } from './viewer';

/** The console path of a request's page. */
export const requestPath = (id: string) => `/console/requests/${encodeURIComponent(id)}`;

/**
 * The decision form, posting to the request's decision route with the viewer's CSRF token: a reason, where the rule
 * offers grants the choice of this call only or a while, and Approve/Deny. `key` tells apart the forms of one page
 * (the inbox has one a card).
 */
export function decisionForm(request: RequestView, viewer: Pick<Viewer, 'csrf'>, key = ''): string {
  const reason = `reason${key ? `-${key}` : ''}`;
  return `<form method="post" action="${escapeHtml(`${requestPath(request.id)}/decision`)}" autocomplete="off" class="decide" data-testid="decision-form">
    <input type="hidden" name="csrf" value="${escapeHtml(viewer.csrf)}">
    <label for="${escapeHtml(reason)}">Reason <span class="hint">(optional, recorded in the audit ledger)</span></label>
    <textarea id="${escapeHtml(reason)}" name="reason" rows="2" maxlength="${REASON_MAX_LENGTH}" data-testid="reason"></textarea>
    ${renderGrantChoice(request, key)}
    <div class="buttons">
      <button type="submit" name="decision" value="approve" class="approve" data-testid="approve">Approve</button>
      <button type="submit" name="decision" value="deny" class="deny" data-testid="deny">Deny</button>
    </div>
    ${renderGrantNote(request, key)}
  </form>`;
}

export const showRequest: ConsoleRoute = async (event, context) => requestPage(event.pathParameters?.id ?? '', context);

/**
 * `POST /console/requests/{id}/decision`: the viewer's vote (form `csrf`, `decision`, `reason`), then the request's
 * page with a notice: 200 when recorded, 400 for a bad form, or the refusal's status (403, 404, 409). A form without
 * the viewer's token or from another site is refused before anything is read, and changes nothing.
 */
export const decideRequest: ConsoleRoute = async (event, context) => {
  const { ports, viewer } = context;
  const form = formOf(event);
  checkForm(event, viewer, form);
  const id = event.pathParameters?.id ?? '';
  if (!REQUEST_ID_PATTERN.test(id)) throw new CountersignError('not_found', 'no such request');
  const reason = form.get('reason') ?? '';
  const parsed = voteSchema.safeParse({ decision: form.get('decision') ?? undefined, ...(reason.trim() ? { reason } : {}), ...formFor(form) });
  if (!parsed.success) {
    return requestPage(id, context, {
      status: 400,
      notice: {
        kind: 'error',
        text: `Choose Approve or Deny (a reason may be at most ${REASON_MAX_LENGTH} characters, a time one of those offered). Nothing was recorded.`,
      },
    });
  }
  try {
    // The console session is a sign-in (OIDC, or in local mode an authenticated caller): a `requireSignIn` rule is met.
    const { state, recorded } = await castVote(ports, id, { approver: viewer.principal, via: 'console', signedIn: true }, parsed.data);
    const status = statusOf(state);
    const now = status === 'pending' ? 'The request still waits for other approvers.' : `The request is ${status}.`;
    const forWhile = parsed.data.for ? ` for ${parsed.data.for}` : '';
    return requestPage(id, context, {
      notice: recorded
        ? { kind: 'success', text: `Your decision (${parsed.data.decision}${forWhile}) is recorded. ${now}` }
        : { kind: 'info', text: `You had already voted ${parsed.data.decision}; nothing new was recorded (a vote and its reason cannot be changed). ${now}` },
    });
  } catch (err) {
    if (!(err instanceof CountersignError) || err.code === 'not_found') throw err;
    return requestPage(id, context, { status: err.status, notice: { kind: 'error', text: `${sentence(err.message)} Nothing was recorded.` } });
  }
};

/**
 * `POST /console/grants/{id}/revoke`: ends a grant early (form `csrf`, `reason`, required), as an approver of its rule
 * or an auditor (`revokeGrant`, as `POST /v1/grants/{id}/revoke`), then the granting request's page with a notice.
 */
export const revokeGrantFromConsole: ConsoleRoute = async (event, context) => {
  const { ports, viewer } = context;
  const form = formOf(event);
  checkForm(event, viewer, form);
  const grantId = event.pathParameters?.id ?? '';
  if (!GRANT_ID_PATTERN.test(grantId)) throw new CountersignError('not_found', 'no such grant');
  const requestId = requestIdOfGrant(grantId);
  const parsed = revokeBodySchema.safeParse({ reason: form.get('reason') ?? '' });
  if (!parsed.success) {
    return requestPage(requestId, context, {
      status: 400,
      notice: { kind: 'error', text: `Say why the grant is revoked (at most ${REASON_MAX_LENGTH} characters). Nothing was recorded.` },
    });
  }
  try {
    await revokeGrant(ports, viewer.principal, grantId, parsed.data.reason);
    return requestPage(requestId, context, {
      notice: { kind: 'success', text: 'The grant is revoked: later matching requests are asked again.' },
    });
  } catch (err) {
    if (!(err instanceof CountersignError) || err.code === 'not_found') throw err;
    return requestPage(requestId, context, { status: err.status, notice: { kind: 'error', text: `${sentence(err.message)} Nothing was recorded.` } });
  }
};

const sentence = (message: string) => `${message.charAt(0).toUpperCase()}${message.slice(1)}${/[.!?]$/.test(message) ? '' : '.'}`;

async function requestPage(id: string, { ports, viewer }: ConsoleContext, answer: { status?: number; notice?: Notice } = {}): Promise<HttpResult> {
  // 404 both for no such request and for one the viewer may not read, as the API answers.
  const { records, certificates } = await readAuditEvidence(ports, viewer.principal, id);
  const state = deriveState(records)!;
  const directory = ports.policy.directory();
  const now = ports.clock.now();
  const [receipt, publicKeyPem] = await Promise.all([receiptFor(ports, viewer, state, records), ports.signer.publicKeyPem()]);
  const page = renderRequestPage({
    state,
    records,
    certificates,
    publicKeyPem,
    viewer,
    directory,
    now,
    ...(receipt ? { receipt } : {}),
    ...(mayRevokeGrant(state, viewer.principal, directory) ? { mayRevoke: true } : {}),
    ...answer,
  });
  return consolePage(viewer, { title: `Request ${state.request.action}`, section: 'none', body: page, css: REQUEST_CSS, status: answer.status ?? 200 });
}

/** The approval's receipt, for the requester only (as `GET /v1/actions/{id}` gives it): the stored one, or one signed now. */
async function receiptFor(ports: ConsolePorts, viewer: Viewer, state: ApprovalState, records: readonly AuditRecord[]): Promise<string | undefined> {
  if (statusOf(state) !== 'approved' || !isRequester(state, viewer.principal, ports.policy.directory())) return undefined;
  return completeOutcome(ports, state, records, 'read');
}

export interface RequestPageInput {
  readonly state: ApprovalState;
  /** The request's chain as stored, oldest first. */
  readonly records: readonly AuditRecord[];
  /** The signing certificates the records name. */
  readonly certificates: readonly SigningCertificate[];
  /** The ledger's public key (PEM): what the records and the receipt are verified with. */
  readonly publicKeyPem: string;
  readonly viewer: Pick<Viewer, 'principal' | 'csrf'>;
  readonly directory: IdentityDirectory;
  readonly now: Date;
  /** The approval's receipt, when the viewer may see it (the requester). */
  readonly receipt?: string;
  /** The viewer may revoke the grant this approval made (an approver of the rule, or an auditor). */
  readonly mayRevoke?: boolean;
  readonly notice?: Notice;
}

/** The page's content (inside the console's frame). Pure. */
export function renderRequestPage(input: RequestPageInput): string {
  const { state, viewer, directory, now } = input;
  const request = requestView(state, directory);
  const pending = request.status === 'pending';
  return `<header class="request-head">
  <p class="crumbs"><a href="/console">Inbox</a> · request <code>${text(request.id)}</code></p>
  <h1 data-testid="summary">${summarySentence(request)}</h1>
  <p class="meta">${renderStatus(request.status)} ${renderProgress(request)} <span>rule <code>${text(request.rule)}</code></span></p>
</header>
${input.notice ? renderNotice(input.notice) : ''}
${pending ? renderTimeLeft(request, now) : ''}
${renderRisk(request)}
<section aria-labelledby="h-decision" class="decision">
  <h2 id="h-decision">${pending ? 'Your decision' : 'Outcome'}</h2>
  ${pending ? decisionPart(state, request, viewer, directory, now) : renderOutcome(request)}
  ${renderRevokeForm(input, request)}
</section>
${renderContext(request, maskedNote(input.records))}
<section aria-labelledby="h-votes">
  <h2 id="h-votes">Quorum</h2>
  <p data-testid="quorum-words">${renderProgress(request)}${missingWords(state)}</p>
  ${renderApprovers(request, viewer.principal)}
  ${renderVotes(request, viewer.principal)}
</section>
<section aria-labelledby="h-policy">
  <h2 id="h-policy">Policy</h2>
  <dl>
    ${row('Rule', `<code data-testid="rule">${text(request.rule)}</code>`)}
    ${row('Approvals', `<span data-testid="approvals">${request.votes.filter((v) => v.decision === 'approve').length} of ${request.requiredApprovals} needed</span> <span class="hint">(one deny settles it as denied)</span>`)}
    ${row('Requested', renderTime(request.createdAt, 'created', pending ? now : undefined))}
    ${row(pending ? 'Expires' : 'Deadline was', request.expiresAt ? renderTime(request.expiresAt, 'expires', pending ? now : undefined) : '<span class="none" data-testid="expires">no expiry</span>')}
    ${request.decidedAt ? row('Decided', renderTime(request.decidedAt, 'decided-at')) : ''}
    ${row('Request id', `<code>${text(request.id)}</code>`)}
  </dl>
</section>
${renderTimeline(input)}
${request.status === 'approved' ? renderReceipt(input, request) : ''}`;
}

/** What the viewer can do about a pending request: decide it, or why not. */
function decisionPart(state: ApprovalState, request: RequestView, viewer: Pick<Viewer, 'principal' | 'csrf'>, directory: IdentityDirectory, now: Date): string {
  if (awaitsVoteFrom(state, viewer.principal, now, directory)) return decisionForm(request, viewer);
  const own = state.votes.find((v) => directory.samePerson(v.approver, viewer.principal));
  let why: string;
  if (own) {
    const remaining = Math.max(0, request.requiredApprovals - request.votes.filter((v) => v.decision === 'approve').length);
    why = `You ${own.decision === 'approve' ? 'approved' : 'denied'} this request on ${renderTime(own.at, 'voted')}.${
      remaining > 0 ? ` It is waiting for ${remaining} more approval${remaining === 1 ? '' : 's'}.` : ''
    }`;
  } else if (isSelf(state, viewer.principal, directory)) {
    // A requester never approves their own request; every channel refuses it, the page says why first.
    why = `You cannot decide this request: it was made ${
      directory.isOneOf(viewer.principal, [state.requester]) ? 'by you' : 'on your behalf'
    }. Another approver must review it.`;
  } else if (!isApprover(state, viewer.principal, directory)) {
    why = 'You may read this request but not decide it: you are not one of its approvers.';
  } else {
    why = 'The deadline has passed: nobody can decide this request any more. It closes as expired.';
  }
  return `<div class="outcome" data-testid="outcome"><p>${why}</p></div>`;
}

/** Revoking the grant this approval made, while it holds, for an approver of its rule or an auditor: a reason is required. */
function renderRevokeForm({ state, viewer, now, mayRevoke }: RequestPageInput, request: RequestView): string {
  const grant = state.grant;
  if (!grant || !mayRevoke || grantStatus(grant, state.grantRevoked !== undefined, now) !== 'active') return '';
  return `<form method="post" action="/console/grants/${escapeHtml(encodeURIComponent(grant.id))}/revoke" autocomplete="off" class="revoke" data-testid="revoke-form">
    <input type="hidden" name="csrf" value="${escapeHtml(viewer.csrf)}">
    <label for="revoke-reason">Revoke grant <code>${text(grant.id)}</code> early <span class="hint">(later requests by <bdi>${text(
      request.requester,
    )}</bdi> are then asked again; the reason is recorded in the audit ledger)</span></label>
    <textarea id="revoke-reason" name="reason" rows="2" required maxlength="${REASON_MAX_LENGTH}" data-testid="revoke-reason"></textarea>
    <div class="buttons"><button type="submit" class="deny" data-testid="revoke">Revoke grant</button></div>
  </form>`;
}

/** ": still needs 1 more from security", for a pending request. */
function missingWords(state: ApprovalState): string {
  const missing = stillMissing(state);
  return missing.length ? ` <span class="hint" data-testid="missing">(still needs ${missing.map((m) => text(m)).join(', ')})</span>` : '';
}

/** What intake masked (the `requested` record's `masked`): the parameters above are shown as recorded. */
function maskedNote(records: readonly AuditRecord[]): string {
  const masked = records[0]?.data.masked;
  if (!Array.isArray(masked) || masked.length === 0) return '';
  const items = masked
    .map((m) => {
      const { path, reason } = (m ?? {}) as { path?: unknown; reason?: unknown };
      return `<li><code>${text(path)}</code> <span class="hint">(${text(reason === 'path' ? 'configured path' : reason)})</span></li>`;
    })
    .join('');
  return `<p class="hint" data-testid="masked">Masked when the request was made, as everywhere it is shown:</p><ul class="masked">${items}</ul>`;
}

const TYPE_LABEL: Record<AuditRecord['type'], string> = {
  requested: 'Requested',
  policy_decided: 'Policy decided',
  notified: 'Approvers notified',
  reminded: 'Approvers reminded',
  escalated: 'Escalated',
  voted: 'Voted',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  cancelled: 'Cancelled',
  executed: 'Receipt redeemed',
  grant_revoked: 'Grant revoked',
};

/** Each record of the chain, oldest first, with its signature checked against the ledger key (and its certificates). */
function renderTimeline({ records, certificates, publicKeyPem }: RequestPageInput): string {
  let problems: Map<number, string[]>;
  let failure: string | undefined;
  try {
    const verification = verifyChain(records, createPublicKey(publicKeyPem), certificates);
    problems = new Map();
    for (const p of verification.problems) problems.set(p.seq, [...(problems.get(p.seq) ?? []), p.problem]);
  } catch (err) {
    problems = new Map();
    failure = `The ledger key could not be used to verify: ${(err as Error).message}`;
  }
  const summary = failure
    ? `<p class="verify bad" role="alert" data-testid="chain-verification">${text(failure)}</p>`
    : problems.size === 0
      ? `<p class="verify ok" data-testid="chain-verification">✓ All ${records.length} records are in one unbroken chain, each signature verified with the ledger's key.</p>`
      : `<p class="verify bad" role="alert" data-testid="chain-verification">✗ ${problems.size} of ${records.length} records fail verification: this chain has been altered or damaged.</p>`;
  const items = records
    .map((record) => {
      const problem = failure ? [failure] : problems.get(record.seq);
      const check = problem
        ? `<span class="sig bad" data-testid="signature">✗ signature not verified: ${text(problem.join('; '))}</span>`
        : '<span class="sig ok" data-testid="signature">✓ signature verified</span>';
      return `<li class="record" data-testid="record" data-type="${escapeHtml(record.type)}">
  <p class="record-head"><span class="seq">#${record.seq}</span> <strong>${TYPE_LABEL[record.type]}</strong> · ${renderTime(record.at, 'record-at')} · by <bdi>${text(record.actor)}</bdi></p>
  ${recordFacts(record)}
  <p class="record-sig">${check} <span class="hint">key <code>${text(record.keyId)}</code></span></p>
</li>`;
    })
    .join('\n');
  return `<section aria-labelledby="h-timeline">
  <h2 id="h-timeline">Timeline from the ledger</h2>
  ${summary}
  <ol class="timeline" data-testid="timeline">${items}</ol>
</section>`;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A record's key data, in a line or two. */
function recordFacts(record: AuditRecord): string {
  const d = record.data as Record<string, unknown>;
  const list = (value: unknown) =>
    Array.isArray(value) && value.length ? value.map((v) => `<bdi>${text(v)}</bdi>`).join(', ') : '<span class="none">nobody</span>';
  const facts: string[] = [];
  switch (record.type) {
    case 'requested':
      facts.push(`requester <bdi>${text(d.requester)}</bdi>`);
      if (Array.isArray(d.masked) && d.masked.length) facts.push(`${d.masked.length} value${d.masked.length === 1 ? '' : 's'} masked`);
      break;
    case 'policy_decided':
      facts.push(`rule <code>${text(d.rule)}</code>: ${text(d.effect)}`);
      if (d.effect === 'require_approval') facts.push(`${text(d.requiredApprovals)} approval${d.requiredApprovals === 1 ? '' : 's'} from ${list(d.approvers)}`);
      if (typeof d.expiresAt === 'string') facts.push(`expires ${renderTime(d.expiresAt, 'record-expires')}`);
      if (d.requireSignIn === true) facts.push('sign-in required');
      if (isRecord(d.grantedBy))
        facts.push(`approved at once by grant <code>${text(d.grantedBy.grant)}</code> (request <code>${text(d.grantedBy.request)}</code>)`);
      if (typeof d.reason === 'string') facts.push(`reason <q>${text(d.reason)}</q>`);
      // Shadow rules on trial: what each would have done, not enforced.
      for (const shadow of Array.isArray(d.shadow) ? (d.shadow as Array<Record<string, unknown>>) : []) {
        const would = Array.isArray(shadow?.notJudged) ? `could not judge ${list(shadow.notJudged)}` : `would ${text(shadow?.effect)}`;
        facts.push(`<span data-testid="shadow-fact">shadow rule <code>${text(shadow?.rule)}</code> ${would} (on trial, not enforced)</span>`);
      }
      break;
    case 'notified':
    case 'reminded': {
      facts.push(`asked ${list(d.approvers)}`);
      const channels = (d.channels ?? {}) as Record<string, { sent?: unknown[]; failed?: unknown[] }>;
      for (const [channel, report] of Object.entries(channels)) {
        const failed = report?.failed?.length ?? 0;
        facts.push(`${text(channel)}: ${report?.sent?.length ?? 0} sent${failed ? `, <span class="bad">${failed} failed</span>` : ''}`);
      }
      break;
    }
    case 'escalated':
      facts.push(`added ${list(d.approvers)}`);
      break;
    case 'voted':
      facts.push(`<bdi>${text(d.approver)}</bdi> voted <strong>${text(d.decision)}</strong>`);
      if (typeof d.forSeconds === 'number') facts.push(`for ${escapeHtml(grantLengthWords(d.forSeconds))}`);
      if (typeof d.reason === 'string') facts.push(`<q>${text(d.reason)}</q>`);
      break;
    case 'grant_revoked':
      facts.push(`grant <code>${text(d.grant)}</code> revoked by <bdi>${text(d.revokedBy)}</bdi>: <q>${text(d.reason)}</q>`);
      break;
    case 'executed':
      facts.push(`redeemed by <bdi>${text(d.redeemer)}</bdi>: the action runs once`);
      break;
    default:
      facts.push(`decided by ${text(d.decidedBy)}`);
      if (Array.isArray(d.approvers)) facts.push(`approvers ${list(d.approvers)}`);
      if (isRecord(d.grant))
        facts.push(`grant <code>${text(d.grant.id)}</code> until ${typeof d.grant.until === 'string' ? renderTime(d.grant.until, 'record-grant-until') : ''}`);
      if (typeof d.reason === 'string') facts.push(`<q>${text(d.reason)}</q>`);
  }
  return `<p class="record-facts">${facts.join(' · ')}</p>`;
}

/** The receipt of an approval: to the requester, its claims decoded, checked and the compact value; to others, why not. */
function renderReceipt({ receipt, publicKeyPem, now }: RequestPageInput, request: RequestView): string {
  if (!receipt) {
    return `<section aria-labelledby="h-receipt">
  <h2 id="h-receipt">Receipt</h2>
  <p data-testid="receipt-note">Countersign issued a signed receipt for this approval to the requester, <bdi>${text(request.requester)}</bdi>. Only the requester is shown it: it holds the salt that opens the ledger's commitment to the unmasked parameters.</p>
</section>`;
  }
  const parts = receipt.split('.');
  let claims: Record<string, unknown> | undefined;
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    claims = undefined;
  }
  const parsed = receiptClaimsSchema.safeParse(claims);
  let check: string;
  try {
    // Checked as of its issue, so an expired receipt still shows its signature verified; the expiry is said beside.
    const at = parsed.success ? new Date(parsed.data.iat * 1000) : now;
    verifyReceipt(receipt, publicKeyPem, { now: at });
    const expired = parsed.success && now.getTime() >= parsed.data.exp * 1000;
    check = `<p class="verify ok" data-testid="receipt-verification">✓ signature verified with the ledger's key${
      expired ? '; <span class="bad">it has expired</span> (a receipt proves an approval for one hour, or until its redeem deadline under redeemWithin)' : ''
    }.</p>`;
  } catch (err) {
    check = `<p class="verify bad" role="alert" data-testid="receipt-verification">✗ The receipt does not verify: ${text((err as Error).message)}</p>`;
  }
  const rows = parsed.success
    ? Object.entries(parsed.data)
        .map(([name, value]) =>
          row(
            `<code>${text(name)}</code>`,
            (name === 'iat' || name === 'exp') && typeof value === 'number'
              ? renderTime(new Date(value * 1000).toISOString(), `receipt-${name}`)
              : `<code>${text(Array.isArray(value) ? value.join(', ') : value)}</code>`,
          ),
        )
        .join('\n')
    : row('Claims', '<span class="bad">not readable</span>');
  return `<section aria-labelledby="h-receipt">
  <h2 id="h-receipt">Receipt</h2>
  <p class="hint">Yours as the requester: hand it to whatever performs the action, which verifies it with the ledger's public key.</p>
  ${check}
  <dl data-testid="receipt-claims">${rows}</dl>
  <h3>Compact value</h3>
  <pre class="long" tabindex="0" data-testid="receipt">${text(receipt)}</pre>
</section>`;
}

/** What the request page adds to the console's stylesheet. */
export const REQUEST_CSS = `
.request-head{margin:0 0 .4rem}
.crumbs{margin:0;font-size:.85rem;color:#5b6472}
.quorum{display:inline-flex;align-items:center;gap:.4rem}
.timeline{list-style:none;margin:0;padding:0}
.record{border-top:1px solid #eef0f3;padding:.5rem 0}
.record:first-child{border-top:0}
.record p{margin:.1rem 0;overflow-wrap:anywhere}
.record-head .seq{color:#5b6472;font-variant-numeric:tabular-nums}
.record-facts{font-size:.9rem;color:#3a4150}
.record-sig{font-size:.85rem}
.sig.ok,.verify.ok{color:#135c2a}
.sig.bad,.verify.bad{color:#8f1d14;font-weight:600}
.masked{margin:.2rem 0 0;padding-left:1.2rem;font-size:.9rem}
.decide textarea{min-height:2.8rem}
.revoke{margin-top:.8rem;padding-top:.6rem;border-top:1px solid #eef0f3}
.revoke label{font-weight:600}
`;
