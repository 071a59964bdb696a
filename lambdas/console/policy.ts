/**
 * The loaded policy and its version, and an explain form that tries a request against it (`GET /console/policy`).
 *
 * The form is a GET (it changes nothing, works without script, and a result can be bookmarked). Its request is read as
 * the API reads one: the intake API's schema (`actionRequestSchema`), the same JSON checks on the parameters, the
 * requester as a canonical identity, and the fields policy refuses before any rule (`fieldProblems`); anything the API
 * would refuse is a 400 page saying why, with the form kept. A request that gets past those is explained by
 * `explainPolicy`, in the words `countersign policy explain` prints (core/policy-explain.ts); a rule that cannot judge
 * it is shown as the refusal it is (policy fails closed).
 */
import { type HttpEvent, parseWith } from '../adapters/http';
import type { Config, ParameterCondition, PolicyOutcome, Rule } from '../core/config';
import { CountersignError, type ErrorDetail } from '../core/errors';
import { escapeHtml } from '../core/html';
import { jsonTextProblem } from '../core/json-keys';
import { fieldProblems, type PolicyInput } from '../core/policy';
import {
  type ApprovalSummary,
  approvalSummary,
  asIntakeReads,
  decidedWords,
  type Explained,
  explainRequest,
  explainSteps,
  quorumWords,
  refusedWords,
  shadowWords,
  skippedWords,
} from '../core/policy-explain';
import { actionRequestSchema } from '../core/request';
import { text } from '../pages/kit';
import type { ConsoleRoute } from './context';
import { consolePage } from './layout';

/** The explain form's fields, as query parameters (`agent` is the agent's name). */
export const EXPLAIN_FIELDS = ['action', 'environment', 'resource', 'requester', 'onBehalfOf', 'agent', 'parameters'] as const;
type ExplainField = (typeof EXPLAIN_FIELDS)[number];
export type ExplainQuery = Partial<Record<ExplainField, string>>;

/** The largest parameters text read, as the API's body limit. */
const MAX_PARAMETERS_BYTES = 256 * 1024;

/** What the form sent, or undefined when it was not sent (the page without an explanation). */
export function explainQueryOf(event: HttpEvent): ExplainQuery | undefined {
  const query = event.queryStringParameters ?? {};
  if (!EXPLAIN_FIELDS.some((field) => Object.hasOwn(query, field))) return undefined;
  const out: ExplainQuery = {};
  for (const field of EXPLAIN_FIELDS) {
    const value = Object.hasOwn(query, field) ? query[field] : undefined;
    if (typeof value === 'string') out[field] = value;
  }
  return out;
}

/**
 * The request the form describes, as the API would take it, or every problem the API would answer 400 for: a field
 * the schema refuses, parameters that are no JSON object, a requester that is no identity, a field with a hidden
 * character or a look-alike word.
 */
export function explainInput(query: ExplainQuery): { readonly input: PolicyInput } | { readonly problems: readonly ErrorDetail[] } {
  const given = (field: ExplainField) => (query[field] === undefined || query[field] === '' ? undefined : query[field]);
  const problems: ErrorDetail[] = [];
  const body: Record<string, unknown> = {};
  for (const field of ['action', 'environment', 'resource', 'onBehalfOf'] as const) {
    const value = given(field);
    if (value !== undefined) body[field] = value;
  }
  const agent = given('agent');
  if (agent !== undefined) body.agent = { name: agent };
  const parametersText = given('parameters');
  if (parametersText !== undefined) {
    const parsed = parametersOf(parametersText);
    if ('problem' in parsed) problems.push({ path: 'parameters', message: parsed.problem });
    else body.parameters = parsed.value;
  }
  let request: PolicyInput | undefined;
  try {
    request = parseWith(actionRequestSchema, body);
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    problems.push(...err.details.map((d) => ({ path: d.path || '(request)', message: d.message })));
  }
  if (!request) return { problems };
  const read = asIntakeReads(request, given('requester'));
  if (read.problems) return { problems: [...problems, ...read.problems] };
  problems.push(...fieldProblems(read.input).map((p) => ({ path: p.path, message: `${p.is}: ${p.needs}` })));
  return problems.length > 0 ? { problems } : { input: read.input };
}

function parametersOf(raw: string): { readonly value: unknown } | { readonly problem: string } {
  if (Buffer.byteLength(raw) > MAX_PARAMETERS_BYTES) return { problem: 'is over 256 KiB' };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { problem: `is not valid JSON (${(err as Error).message}): write a JSON object such as {"rows": 50000}` };
  }
  const problem = jsonTextProblem(raw);
  if (problem) {
    const path = ['parameters', ...problem.path].join('.');
    return {
      problem:
        problem.kind === 'duplicate_key' ? `repeats the key ${path}: give each key once` : `holds an unpaired surrogate at ${path}: send well-formed Unicode`,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: 'must be a JSON object such as {"rows": 50000}' };
  return { value };
}

export const showPolicy: ConsoleRoute = async (event, { ports, viewer }) => {
  const config = ports.policy.config();
  const version = ports.policy.version();
  const query = explainQueryOf(event);
  let result = '';
  let status = 200;
  if (query) {
    const read = explainInput(query);
    if ('problems' in read) {
      status = 400;
      result = renderProblems(read.problems);
    } else {
      result = renderExplanation(read.input, explainRequest(config, read.input), config);
    }
  }
  return consolePage(viewer, {
    title: 'Policy',
    section: 'policy',
    status,
    body: renderPolicyBody(config, version, query ?? {}, result),
  });
};

// ---------------------------------------------------------------------------------------------------------------
// The page

export function renderPolicyBody(config: Config, version: string, query: ExplainQuery, result: string): string {
  const groups = Object.keys(config.groups).length;
  return `<h1>Policy</h1>
<p>The policy this deployment loaded: ${config.rules.length} rule${config.rules.length === 1 ? '' : 's'}, tried in order; the first that matches a request decides, and when none does, the default decides. ${groups} approver group${groups === 1 ? '' : 's'}.</p>
<p class="meta">Policy version <code class="version" data-testid="policy-version" style="overflow-wrap:anywhere;word-break:break-all">${escapeHtml(version)}</code></p>
<p class="hint">Each request records the version that decided it (<code>policyVersion</code> in its <code>policy_decided</code> ledger record); <code>countersign policy check</code> prints its first 12 characters.</p>
${explainForm(query)}
${result}
<section aria-labelledby="rules-heading" data-testid="rules">
<h2 id="rules-heading">Rules, in order</h2>
${config.rules.length === 0 ? '<p class="none">No rules: the default decides every request.</p>' : `<ol class="cards rules">${config.rules.map((rule, i) => renderRule(config, rule, i)).join('\n')}</ol>`}
</section>
<section aria-labelledby="default-heading" data-testid="default">
<h2 id="default-heading">Default</h2>
<p>When no rule matches.</p>
<dl>${outcomeRows(config.default, approvalSummary(config, config.default), { effect: true })}</dl>
</section>
${renderGroups(config)}
<section aria-labelledby="auditors-heading" data-testid="auditors">
<h2 id="auditors-heading">Auditors</h2>
${config.auditors.length === 0 ? '<p class="none">No auditors are configured.</p>' : `<ul>${config.auditors.map((a) => `<li><bdi>${text(a)}</bdi></li>`).join('')}</ul>`}
</section>`;
}

function explainForm(query: ExplainQuery): string {
  const field = (name: ExplainField, label: string, hint: string, placeholder: string) =>
    `<div><label for="explain-${name}">${label}</label><input id="explain-${name}" name="${name}" value="${escapeHtml(query[name] ?? '')}" placeholder="${escapeHtml(placeholder)}" aria-describedby="explain-${name}-hint" autocomplete="off" spellcheck="false"><span class="hint" id="explain-${name}-hint">${hint}</span></div>`;
  return `<section aria-labelledby="explain-heading" data-testid="explain">
<h2 id="explain-heading">Explain a request</h2>
<p>Try a request against this policy: which rule decides it, why each earlier rule does not, and who must approve. Nothing is recorded.</p>
<form method="get" action="/console/policy" class="explain-form" data-testid="explain-form">
<div class="filters">
${field('action', 'Action', 'required', 'data.export')}
${field('environment', 'Environment', 'optional', 'production')}
${field('resource', 'Resource', 'optional', 'arn:aws:s3:::customer-data')}
${field('requester', 'Requester', 'the agent’s identity', 'arn:aws:iam::123456789012:role/agent')}
${field('onBehalfOf', 'On behalf of', 'optional', 'carol@example.com')}
${field('agent', 'Agent name', 'optional', 'reporting-agent')}
</div>
<label for="explain-parameters">Parameters <span class="hint">(a JSON object, optional)</span></label>
<textarea id="explain-parameters" name="parameters" rows="4" spellcheck="false" placeholder="{&quot;rows&quot;: 50000}">${escapeHtml(query.parameters ?? '')}</textarea>
<p class="explain-buttons"><button type="submit" class="button-primary" data-testid="explain-submit">Explain</button></p>
</form>
</section>`;
}

function renderProblems(problems: readonly ErrorDetail[]): string {
  return `<div class="notice notice-error" role="alert" data-testid="explain-problems">
<p><strong>The API would refuse this request (400 invalid_request)</strong>, so no rule decides it. Fix these and explain it again:</p>
<ul>${problems.map((p) => `<li><code>${text(p.path)}</code>: ${text(p.message)}</li>`).join('')}</ul>
</div>`;
}

/**
 * The request as policy read it, each rule skipped and why, each shadow rule reached and what it would have done, and
 * the verdict: the CLI's words, laid out.
 */
export function renderExplanation(input: PolicyInput, explained: Explained, config: Config): string {
  const asked = [
    ['action', input.action],
    ['environment', input.environment],
    ['resource', input.resource],
    ['requester', input.requester],
    ['onBehalfOf', input.onBehalfOf],
    ['agent.name', input.agent?.name],
    ['parameters', input.parameters === undefined ? undefined : JSON.stringify(input.parameters)],
  ].flatMap(([label, value]) => (value === undefined ? [] : [`<div class="row"><dt>${label}</dt><dd><bdi>${text(value)}</bdi></dd></div>`]));
  const skipped = explainSteps(config, explained).map((step) => {
    if (step.kind === 'skipped') {
      const s = step.skipped;
      return `<li class="skipped" data-testid="explain-skipped"><span class="step">${text(skippedWords(s.rule, s.shadow))}</span><ul>${s.because.map((b) => `<li>${text(b)}</li>`).join('')}</ul></li>`;
    }
    const details = step.shadow.refused
      ? step.shadow.problems.map((p) => `<li><code>${text(p.path)}</code> ${text(p.is)}: ${text(p.needs)}</li>`)
      : step.approval
        ? [`<li>would ask: ${text(quorumWords(step.approval))}</li>`]
        : [];
    return `<li class="shadow" data-testid="explain-shadow"><span class="step">${text(shadowWords(step.shadow))}</span>${details.length ? `<ul>${details.join('')}</ul>` : ''}</li>`;
  });
  let verdict: string;
  if (explained.refused) {
    verdict = `<li class="refused" data-testid="explain-verdict"><span class="step bad">${text(refusedWords(explained.rule))}</span><ul>${explained.problems
      .map((p) => `<li><code>${text(p.path)}</code> ${text(p.is)}: ${text(p.needs)}</li>`)
      .join('')}</ul></li>`;
  } else {
    verdict = `<li class="decided" data-testid="explain-verdict"><span class="step">${text(decidedWords(explained.rule, explained.outcome))}</span></li>`;
  }
  let outcome = '';
  if (explained.refused) {
    outcome = `<div class="notice notice-error" role="status" data-testid="explain-outcome"><p><strong>Refused</strong>: the API answers 400 invalid_request and records nothing; no later rule and not the default is tried, because policy fails closed.</p></div>`;
  } else {
    const { effect } = explained.outcome;
    const words =
      effect === 'allow'
        ? 'Allowed at once: no approval is asked for.'
        : effect === 'deny'
          ? 'Denied at once: no approver is asked.'
          : `Approval required: ${text(quorumWords(explained.approval!))}.`;
    outcome = `<p class="explain-outcome" data-testid="explain-outcome">${effectBadge(effect)} ${words}</p>
${explained.approval ? `<dl>${outcomeRows(explained.outcome, explained.approval, { effect: false })}</dl>` : ''}`;
  }
  return `<section aria-labelledby="result-heading" data-testid="explain-result">
<h2 id="result-heading">Explanation</h2>
${outcome}
<h3>The request, as policy reads it</h3>
<dl>${asked.join('')}</dl>
<h3>Rules tried</h3>
<ol class="steps">${[...skipped, verdict].join('\n')}</ol>
</section>`;
}

function effectBadge(effect: PolicyOutcome['effect']): string {
  const cls = effect === 'allow' ? 'approved' : effect === 'deny' ? 'denied' : 'pending';
  return `<span class="status status-${cls}" data-testid="effect">${effect.replace('_', ' ')}</span>`;
}

function renderRule(config: Config, rule: Rule, index: number): string {
  return `<li class="card" data-testid="rule" id="rule-${escapeHtml(rule.name)}">
<h3><span class="hint">${index + 1}.</span> <bdi>${text(rule.name)}</bdi> ${effectBadge(rule.effect)}${rule.mode === 'shadow' ? ' <span class="hint" data-testid="shadow">shadow: on trial, recorded but not enforced</span>' : ''}</h3>
<dl><div class="row"><dt>Matches</dt><dd>${matchWords(rule)}</dd></div>${outcomeRows(rule, approvalSummary(config, rule), { effect: false })}</dl>
</li>`;
}

/** A rule's match, one condition a line: every one must hold. */
function matchWords(rule: Rule): string {
  const { action, environment, resource, requester, onBehalfOf, agent, parameters } = rule.match;
  const quoted = (glob: string) => `<code>${text(glob)}</code>`;
  const lines: string[] = [];
  if (action !== undefined) lines.push(`action matches ${quoted(action)}`);
  if (environment !== undefined)
    lines.push(
      `environment is ${[environment]
        .flat()
        .map((e) => quoted(e))
        .join(' or ')}`,
    );
  if (resource !== undefined) lines.push(`resource matches ${quoted(resource)}`);
  if (requester !== undefined) lines.push(`requester matches ${quoted(requester)}`);
  if (onBehalfOf !== undefined) lines.push(`onBehalfOf matches ${quoted(onBehalfOf)}`);
  if (agent !== undefined) lines.push(`agent.name matches ${quoted(agent.name)}`);
  for (const [path, condition] of Object.entries(parameters ?? {})) lines.push(conditionWords(path, condition));
  if (lines.length === 0) return '<span class="none">every request</span>';
  return `<ul class="conditions">${lines.map((l) => `<li>${l}</li>`).join('')}</ul>`;
}

function conditionWords(path: string, condition: ParameterCondition): string {
  const value = (v: unknown) => `<code>${text(JSON.stringify(v))}</code>`;
  const parts: string[] = [];
  if (condition.exists !== undefined) parts.push(condition.exists ? 'is present' : 'is absent');
  if (condition.equals !== undefined) parts.push(`equals ${value(condition.equals)}`);
  if (condition.in !== undefined) parts.push(`is one of ${condition.in.map(value).join(', ')}`);
  if (condition.not !== undefined) parts.push(`is not ${[condition.not].flat().map(value).join(' nor ')}`);
  for (const [op, bound] of [
    ['&gt;', condition.gt],
    ['&ge;', condition.gte],
    ['&lt;', condition.lt],
    ['&le;', condition.lte],
  ] as const) {
    if (bound !== undefined) parts.push(`${op} ${value(bound)}`);
  }
  if (condition.glob !== undefined) parts.push(`matches <code>${text(condition.glob)}</code>`);
  return `<code>parameters.${text(path)}</code> ${parts.join(' and ')}`;
}

/**
 * What an outcome does: its effect (unless the page shows it already), reason and, for approval, who, how many, where,
 * for how long, reminders and escalation.
 */
function outcomeRows(outcome: PolicyOutcome, approval: ApprovalSummary | undefined, options: { readonly effect: boolean }): string {
  const rows: Array<[string, string]> = [];
  if (options.effect) rows.push(['Effect', effectBadge(outcome.effect)]);
  if (outcome.reason) rows.push(['Reason', `<bdi>${text(outcome.reason)}</bdi>`]);
  if (approval) {
    rows.push(['Approvals', text(quorumWords(approval))]);
    rows.push(['Asked on', text(approval.channels.join(', '))]);
    rows.push(['Expires after', `${escapeHtml(outcome.timeout ?? '1h')}${outcome.timeout ? '' : ' <span class="hint">(the default)</span>'}`]);
    rows.push([
      'Reminders',
      outcome.remindAfter ? `every ${escapeHtml(outcome.remindAfter)}, to approvers who have not voted` : '<span class="none">none</span>',
    ]);
    rows.push([
      'Escalation',
      outcome.escalateAfter && outcome.escalateTo
        ? `after ${escapeHtml(outcome.escalateAfter)} without an outcome, also asks ${outcome.escalateTo.map((g) => `<bdi>${text(g)}</bdi>`).join(', ')}`
        : '<span class="none">none</span>',
    ]);
    rows.push(['Sign-in', approval.requireSignIn ? '<strong>required</strong>, even on personal review links' : 'not required']);
    if (outcome.redeemWithin) rows.push(['Redeem within', `${escapeHtml(outcome.redeemWithin)} of the approval, or it lapses`]);
  }
  if (outcome.mask?.length) rows.push(['Also masks', outcome.mask.map((m) => `<code>${text(m)}</code>`).join(', ')]);
  return rows.map(([label, html]) => `<div class="row"><dt>${label}</dt><dd>${html}</dd></div>`).join('');
}

function renderGroups(config: Config): string {
  const entries = Object.entries(config.groups);
  const body =
    entries.length === 0
      ? '<p class="none">No approver groups.</p>'
      : `<div class="table-wrap"><table><thead><tr><th scope="col">Group</th><th scope="col">Members</th></tr></thead><tbody>${entries
          .map(
            ([name, group]) =>
              `<tr data-testid="group"><th scope="row"><bdi>${text(name)}</bdi></th><td><ul class="members">${group.members
                .map(
                  (m) =>
                    `<li><bdi>${text(m.id)}</bdi>${m.email && m.email !== m.id ? ` <span class="hint">(email <bdi>${text(m.email)}</bdi>)</span>` : ''}${m.slackUserId ? ` <span class="hint">(Slack ${text(m.slackUserId)})</span>` : ''}</li>`,
                )
                .join('')}</ul></td></tr>`,
          )
          .join('')}</tbody></table></div>`;
  return `<section aria-labelledby="groups-heading" data-testid="groups">
<h2 id="groups-heading">Approver groups</h2>
${body}
</section>`;
}
