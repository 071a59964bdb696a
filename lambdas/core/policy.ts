/**
 * Policy evaluation: the first rule whose match fits the request decides; otherwise the config's default does.
 *
 * Every comparison is made on canonical forms (`canonicalText`: NFKC, hidden characters removed, white space collapsed
 * and trimmed, lower-cased), so a respelling of a value is the same value to every rule. Each condition of a match is
 * true, false or "cannot judge" (a list where one value is compared, a number that is no number, two keys that read as
 * one): a rule with a false condition does not match; a rule with no false condition but one that cannot be judged
 * refuses the request (400) instead of being skipped, so a value policy cannot read never reaches a weaker rule.
 *
 * A shadow rule (`mode: shadow`) never decides and never refuses: what it would have done is collected, and
 * evaluation goes on to the next rule. Only shadow rules before the deciding rule are reached.
 */
import { type Config, channelsFor, type ParameterCondition, type PolicyOutcome, type Rule, timeoutSeconds } from './config';
import { parseDuration } from './duration';
import { CountersignError } from './errors';
import { type GrantOffer, type GrantUse, ruleDigest } from './grant';
import { principalMatchForms } from './identity';
import { approvalsNeeded, requirementsOf } from './quorum';
import type { PolicyDecidedData, ShadowResult } from './records';
import type { ActionRequest } from './request';
import { canonicalText, codePointName, hasHiddenCharacters, keyParts, lookAlikeWord, markHidden } from './text';

export interface PolicyDecision {
  readonly refused?: undefined;
  /** The rule that decided, or `default`. */
  readonly rule: string;
  readonly outcome: PolicyOutcome;
  /** The shadow rules reached before it that matched or could not be judged, in order; absent when none. */
  readonly shadow?: readonly ShadowVerdict[];
}

/**
 * What a shadow rule reached in order would have done, enforced: decided (its match held), or refused the request
 * (some of its conditions could not be judged). Either way it let the request go on.
 */
export type ShadowVerdict =
  | { readonly rule: string; readonly refused?: undefined; readonly outcome: PolicyOutcome }
  | { readonly rule: string; readonly refused: true; readonly problems: readonly Unjudged[] };

/** A field or condition policy cannot judge as sent. */
export interface Unjudged {
  /** The field, e.g. `environment` or `parameters.rows`. */
  readonly path: string;
  /** What the request holds there, for `policy explain`. */
  readonly is: string;
  /** What policy needs instead, told to the agent. */
  readonly needs: string;
}

/** The request is refused (400 invalid_request) rather than decided. */
export interface PolicyRefusal {
  readonly refused: true;
  /** The first rule in order whose conditions could not be judged; absent when a field was refused before any rule. */
  readonly rule?: string;
  readonly problems: readonly Unjudged[];
}

export type PolicyVerdict = PolicyDecision | PolicyRefusal;

/** What policy sees of a request: the agent's fields and who asked. */
export type PolicyInput = Pick<ActionRequest, 'action' | 'environment' | 'resource' | 'onBehalfOf' | 'agent' | 'parameters'> & { readonly requester?: string };

/**
 * Whether `value` fits `glob`, where `*` matches any run of characters (including none) and everything else is
 * literal. Matched in linear passes (prefix, suffix, then each middle part at its leftmost place, which is never
 * worse for `*`-only globs), not by a regular expression, whose backtracking on many stars is exponential: the
 * console's audit filters take globs from people, not only from the config.
 */
export function globTest(glob: string, value: string): boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === value;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let at = first.length;
  for (const part of parts.slice(1, -1)) {
    if (!part) continue;
    const found = value.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** Canonical forms of the globs seen, bounded: the config's are few, a person's filters are not kept for long. */
const canonicalGlobs = new Map<string, string>();
const CANONICAL_GLOBS_KEPT = 1000;

function canonicalGlob(glob: string): string {
  let canonical = canonicalGlobs.get(glob);
  if (canonical === undefined) {
    canonical = canonicalText(glob);
    if (canonicalGlobs.size >= CANONICAL_GLOBS_KEPT) canonicalGlobs.clear();
    canonicalGlobs.set(glob, canonical);
  }
  return canonical;
}

/** Whether a text value fits a glob, both in canonical form (its literal parts canonicalized, `*` still any run). */
export function globMatches(glob: string, value: string | undefined): boolean {
  return value !== undefined && globTest(canonicalGlob(glob), canonicalText(value));
}

/** Fields an agent names things by, which may hold no hidden character (they are compared and shown to approvers). */
const PLAIN_FIELDS = ['environment', 'resource', 'onBehalfOf', 'agent.name'] as const;

function fieldValue(request: PolicyInput, field: (typeof PLAIN_FIELDS)[number]): string | undefined {
  return field === 'agent.name' ? request.agent?.name : request[field];
}

/** The fields refused before any rule: hidden characters in what rules compare. */
export function fieldProblems(request: PolicyInput): Unjudged[] {
  const out: Unjudged[] = [];
  for (const field of PLAIN_FIELDS) {
    const value = fieldValue(request, field);
    if (typeof value !== 'string') continue;
    const mixed = lookAlikeWord(value);
    if (mixed !== undefined) {
      out.push({ path: field, is: `is ${show(value)}`, needs: `mixes look-alike letters of several scripts in "${markHidden(mixed)}": send it in one script` });
      continue;
    }
    if (!hasHiddenCharacters(value)) continue;
    const names = [...new Set([...value].filter(hasHiddenCharacters).map(codePointName))].slice(0, 5).join(', ');
    out.push({ path: field, is: `is ${show(value)}`, needs: `holds a hidden character (${names}): send it without invisible, bidi or control characters` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters: finding a value, and judging it

type Scalar = string | number | boolean;

type Lookup =
  | { readonly kind: 'absent' }
  | { readonly kind: 'present'; readonly value: unknown }
  | { readonly kind: 'unjudged'; readonly is: string; readonly needs: string };

/** A one-element list is its element, however deeply wrapped. */
function unwrap(value: unknown): unknown {
  let node = value;
  while (Array.isArray(node) && node.length === 1) node = node[0];
  return node;
}

/** Canonical keys per object, kept for one evaluation (every rule reads the same parameters). */
export type KeyCache = Map<object, ReadonlyArray<readonly [string, readonly string[]]>>;

/** An object's own keys, each with the canonical parts it names (a key with dots names several). */
function canonicalKeys(node: object, cache: KeyCache): ReadonlyArray<readonly [string, readonly string[]]> {
  let keys = cache.get(node);
  if (!keys) {
    keys = Object.keys(node).map((key) => [key, keyParts(key)] as const);
    cache.set(node, keys);
  }
  return keys;
}

/**
 * The value at a dotted path inside the parameters. Keys are matched in canonical form (`ROWS`, `rows\u200B` and
 * `ｒｏｗｓ` are `rows`), and a key holding dots stands for the keys it names (`{"db.host": x}` is `{db: {host: x}}`);
 * only own keys count (`__proto__` is just a key); a one-element list on the way is its element. A longer list on
 * the way, or two keys at one level that reach the same place, cannot be judged.
 */
export function lookupParameter(parameters: Record<string, unknown> | undefined, path: string, cache: KeyCache = new Map()): Lookup {
  const segments = path.split('.').map(canonicalText);
  let node: unknown = parameters ?? {};
  let i = 0;
  while (i < segments.length) {
    const where = ['parameters', ...path.split('.').slice(0, i)].join('.');
    node = unwrap(node);
    if (Array.isArray(node)) {
      return {
        kind: 'unjudged',
        is: `is under ${where}, which is a list of ${node.length} values`,
        needs: `policy reads ${path.split('.').slice(i).join('.')} inside ${where}: send one object there, not a list`,
      };
    }
    if (node === null || typeof node !== 'object') return { kind: 'absent' };
    // A key with an unpaired surrogate is no text at all: it could be any key (intake refuses it before this).
    const broken = Object.keys(node).find((key) => /\p{Cs}/u.test(key));
    if (broken !== undefined) {
      return {
        kind: 'unjudged',
        is: `is under ${where}, which holds the key ${show(broken)}`,
        needs: `${where} holds a key with an unpaired surrogate: send well-formed Unicode`,
      };
    }
    const found: Array<{ key: string; spans: number }> = [];
    for (const [key, parts] of canonicalKeys(node, cache)) {
      if (parts.length <= segments.length - i && parts.every((part, j) => part === segments[i + j])) found.push({ key, spans: parts.length });
    }
    if (found.length === 0) return { kind: 'absent' };
    if (found.length > 1) {
      const shown = found.map((f) => show(f.key)).join(' and ');
      return {
        kind: 'unjudged',
        is: `is under ${where}, which holds both ${shown}`,
        needs: `${where} holds both ${shown}, which policy reads as one key: send it once`,
      };
    }
    node = (node as Record<string, unknown>)[found[0]!.key];
    i += found[0]!.spans;
  }
  return { kind: 'present', value: node };
}

/** The value at a dotted path, as `lookupParameter` finds it; undefined when absent or not judgeable. */
export function parameterAt(parameters: Record<string, unknown> | undefined, path: string): unknown {
  const found = lookupParameter(parameters, path);
  return found.kind === 'present' ? found.value : undefined;
}

/** The one scalar a value stands for, or why it is not one. */
function scalarOf(value: unknown): { readonly scalar: Scalar } | { readonly not: string } {
  const v = unwrap(value);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { scalar: v };
  if (v === null) return { not: 'is null' };
  if (Array.isArray(v)) return { not: `is a list of ${v.length} values` };
  return { not: 'is an object' };
}

/** A plain decimal number, after canonicalization: `50000`, `+5e4`, `.5`; not `50,000`, `0x10`, `Infinity` or ``. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/;

/** The number a scalar is: a number, or text that is a plain decimal number. */
export function numberOf(value: Scalar): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = canonicalText(value);
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

const numberText = (n: number) => String(n === 0 ? 0 : n);

/** What equals, in and not compare: numbers (and numeric text) as numbers; booleans and other text as canonical text. */
function equalityKey(value: Scalar): string {
  const n = numberOf(value);
  if (n !== undefined) return `#${numberText(n)}`;
  return `'${typeof value === 'string' ? canonicalText(value) : String(value)}`;
}

/** What a glob is matched against: the canonical text and, for numeric text, the number's own text too. */
function globTexts(value: Scalar): string[] {
  if (typeof value === 'number') return [numberText(value)];
  if (typeof value === 'boolean') return [String(value)];
  const text = canonicalText(value);
  const n = numberOf(value);
  return n === undefined || numberText(n) === text ? [text] : [text, numberText(n)];
}

/** Shows a request value in explanations: JSON, shortened, hidden characters marked. */
function show(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return markHidden(json.length > 80 ? `${json.slice(0, 77)}...` : json);
}

/** One condition of a match: it holds, it does not (and why), or it cannot be judged. */
type Judgement = { readonly holds: true } | { readonly holds: false; readonly because: string } | { readonly holds: 'unjudged'; readonly problem: Unjudged };

const HOLDS: Judgement = { holds: true };

const NEEDS_NUMBER = 'policy compares this to a number: send a number';
const NEEDS_SCALAR = 'policy compares this to one value: send a single string, number or boolean';

/** Judges every operator of a parameter condition; false wins over cannot judge, which wins over true. */
function judgeCondition(path: string, condition: ParameterCondition, found: Lookup): Judgement {
  const at = `parameters.${path}`;
  const judgements: Judgement[] = [];
  const shown = found.kind === 'present' ? show(found.value) : 'absent';
  const fail = (because: string) => judgements.push({ holds: false, because: `${at} ${because}` });
  const unjudged = (is: string, needs: string) => judgements.push({ holds: 'unjudged', problem: { path: at, is, needs } });

  if (condition.exists !== undefined) {
    if (found.kind === 'unjudged') unjudged(found.is, found.needs);
    else if ((found.kind === 'present') !== condition.exists) fail(condition.exists ? 'is absent' : `is present (${shown})`);
  }
  const scalarOps = (['equals', 'in', 'not', 'gt', 'gte', 'lt', 'lte', 'glob'] as const).filter((op) => condition[op] !== undefined);
  if (scalarOps.length > 0) {
    if (found.kind === 'unjudged') {
      unjudged(found.is, found.needs);
    } else if (found.kind === 'absent') {
      // A missing parameter fails every condition but `not` (and `exists: false`, above).
      const failing = scalarOps.find((op) => op !== 'not');
      if (failing === 'equals') fail(`is absent, not ${JSON.stringify(condition.equals)}`);
      else if (failing === 'in') fail(`is absent, not one of ${JSON.stringify(condition.in)}`);
      else if (failing === 'glob') fail(`is absent, not matching "${condition.glob}"`);
      else if (failing !== undefined) fail('is absent');
    } else {
      const one = scalarOf(found.value);
      const numeric = scalarOps.some((op) => op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte');
      if ('not' in one) {
        unjudged(one.not, numeric ? NEEDS_NUMBER : NEEDS_SCALAR);
      } else {
        judgeScalar(condition, one.scalar, shown, fail, unjudged);
      }
    }
  }
  return judgements.find((j) => j.holds === false) ?? judgements.find((j) => j.holds === 'unjudged') ?? HOLDS;
}

function judgeScalar(
  condition: ParameterCondition,
  value: Scalar,
  shown: string,
  fail: (because: string) => void,
  unjudged: (is: string, needs: string) => void,
): void {
  // Text compared as text, with a word mixing look-alike scripts (`рroduction`), would pass for another value.
  const mixed =
    typeof value === 'string' && [condition.equals, condition.in, condition.not, condition.glob].some((op) => op !== undefined)
      ? lookAlikeWord(value)
      : undefined;
  if (mixed !== undefined) {
    unjudged(
      `is ${shown}, mixing scripts in "${markHidden(mixed)}"`,
      'policy compares this as text, and it mixes look-alike letters of several scripts: send it in one script',
    );
    return;
  }
  const key = equalityKey(value);
  if (condition.equals !== undefined && key !== equalityKey(condition.equals)) fail(`is ${shown}, not ${JSON.stringify(condition.equals)}`);
  if (condition.in !== undefined && !condition.in.some((v) => equalityKey(v) === key)) fail(`is ${shown}, not one of ${JSON.stringify(condition.in)}`);
  if (condition.not !== undefined && [condition.not].flat().some((v) => equalityKey(v) === key)) fail(`is ${shown}`);
  const n = numberOf(value);
  for (const [op, bound, holds] of [
    ['>', condition.gt, (v: number, b: number) => v > b],
    ['>=', condition.gte, (v: number, b: number) => v >= b],
    ['<', condition.lt, (v: number, b: number) => v < b],
    ['<=', condition.lte, (v: number, b: number) => v <= b],
  ] as const) {
    if (bound === undefined) continue;
    if (n === undefined) {
      unjudged(`is ${shown}, not a number`, NEEDS_NUMBER);
      break;
    }
    if (!holds(n, bound)) fail(`is ${shown}, not ${op} ${bound}`);
  }
  if (condition.glob !== undefined) {
    const results = globTexts(value).map((text) => globTest(canonicalGlob(condition.glob!), text));
    if (results.every((r) => !r)) fail(`is ${shown}, not matching "${condition.glob}"`);
    else if (results.some((r) => !r)) {
      unjudged(
        `is ${shown}, which reads as the number ${numberText(n!)} too`,
        'policy matches this against a pattern, and as text and as a number it reads differently: send the number as a number',
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rules

export type RuleJudgement =
  | { readonly kind: 'match' }
  | { readonly kind: 'mismatch'; readonly because: readonly string[] }
  | { readonly kind: 'unjudged'; readonly problems: readonly Unjudged[] };

/** Whether a rule's match fits the request: every condition holds, one does not (every reason), or none fails but some cannot be judged. */
export function judgeRule(rule: Rule, request: PolicyInput, cache: KeyCache = new Map()): RuleJudgement {
  const { action, environment, resource, requester, onBehalfOf, agent, parameters } = rule.match;
  const judgements: Judgement[] = [];
  const check = (holds: boolean, because: () => string) => judgements.push(holds ? HOLDS : { holds: false, because: because() });
  if (action !== undefined) check(globMatches(action, request.action), () => `action ${markHidden(request.action)} does not match "${action}"`);
  if (environment !== undefined) {
    const allowed = [environment].flat();
    const value = request.environment === undefined ? undefined : canonicalText(request.environment);
    check(
      value !== undefined && allowed.some((a) => canonicalText(a) === value),
      () => `environment ${markHidden(request.environment ?? '(none)')} is not ${allowed.join(' or ')}`,
    );
  }
  for (const [field, glob, value] of [
    ['resource', resource, request.resource],
    ['agent.name', agent?.name, request.agent?.name],
  ] as const) {
    if (glob !== undefined) check(globMatches(glob, value), () => `${field} ${markHidden(value ?? '(none)')} does not match "${glob}"`);
  }
  for (const [field, glob, value] of [
    ['requester', requester, request.requester],
    ['onBehalfOf', onBehalfOf, request.onBehalfOf],
  ] as const) {
    // A role session also matches its role's ARN.
    if (glob !== undefined)
      check(
        value !== undefined && principalMatchForms(value).some((form) => globMatches(glob, form)),
        () => `${field} ${markHidden(value ?? '(none)')} does not match "${glob}"`,
      );
  }
  for (const [path, condition] of Object.entries(parameters ?? {})) {
    judgements.push(judgeCondition(path, condition, lookupParameter(request.parameters, path, cache)));
  }
  const because = judgements.flatMap((j) => (j.holds === false ? [j.because] : []));
  if (because.length > 0) return { kind: 'mismatch', because };
  const problems = judgements.flatMap((j) => (j.holds === 'unjudged' ? [j.problem] : []));
  return problems.length > 0 ? { kind: 'unjudged', problems: mergeByPath(problems) } : { kind: 'match' };
}

/** One problem per path (a condition with several operators may fail to judge more than once). */
function mergeByPath(problems: readonly Unjudged[]): Unjudged[] {
  const byPath = new Map<string, Unjudged>();
  for (const p of problems) if (!byPath.has(p.path)) byPath.set(p.path, p);
  return [...byPath.values()];
}

export function ruleMatches(rule: Rule, request: PolicyInput): boolean {
  return judgeRule(rule, request).kind === 'match';
}

export interface PolicyExplanation {
  /** The rules before the deciding (or refusing) one that did not match, each with why; `shadow` for a shadow rule. */
  readonly skipped: ReadonlyArray<{ readonly rule: string; readonly because: readonly string[]; readonly shadow?: true }>;
  /** The shadow rules before it that matched or could not be judged, in order; absent when none. */
  readonly shadow?: readonly ShadowVerdict[];
}

/** The verdict, why every earlier rule did not match, and what each shadow rule reached would have done. */
export function explainPolicy(config: Pick<Config, 'rules' | 'default'>, request: PolicyInput): PolicyVerdict & PolicyExplanation {
  const skipped: Array<PolicyExplanation['skipped'][number]> = [];
  const shadow: ShadowVerdict[] = [];
  const refusedFields = fieldProblems(request);
  if (refusedFields.length > 0) return { refused: true, problems: refusedFields, skipped };
  const cache: KeyCache = new Map();
  for (const rule of config.rules) {
    const judgement = judgeRule(rule, request, cache);
    if (judgement.kind === 'mismatch') {
      skipped.push({ rule: rule.name, because: judgement.because, ...(rule.mode === 'shadow' ? { shadow: true as const } : {}) });
      continue;
    }
    // A trial only records: it neither decides nor refuses, whatever it finds.
    if (rule.mode === 'shadow') {
      shadow.push(judgement.kind === 'match' ? { rule: rule.name, outcome: rule } : { rule: rule.name, refused: true, problems: judgement.problems });
      continue;
    }
    if (judgement.kind === 'match') return { rule: rule.name, outcome: rule, skipped, ...shadowOf(shadow) };
    return { refused: true, rule: rule.name, problems: judgement.problems, skipped, ...shadowOf(shadow) };
  }
  return { rule: 'default', outcome: config.default, skipped, ...shadowOf(shadow) };
}

/** `{shadow}` when there is any, so a policy without shadow rules explains and decides exactly as before. */
const shadowOf = (shadow: readonly ShadowVerdict[]) => (shadow.length > 0 ? { shadow } : {});

/**
 * The first rule in order that matches decides; a field holding hidden characters, or a rule reached in order whose
 * conditions hold but for some that cannot be judged, refuses the request instead.
 */
export function evaluatePolicy(config: Pick<Config, 'rules' | 'default'>, request: PolicyInput): PolicyVerdict {
  const explained = explainPolicy(config, request);
  if (explained.refused) return { refused: true, ...(explained.rule === undefined ? {} : { rule: explained.rule }), problems: explained.problems };
  return { rule: explained.rule, outcome: explained.outcome, ...shadowOf(explained.shadow ?? []) };
}

/** The 400 a refusal answers: each field named, with what policy needs. */
export function refusalError(refusal: PolicyRefusal): CountersignError {
  const paths = refusal.problems.map((p) => p.path).join(', ');
  const message =
    refusal.rule === undefined
      ? `${paths}: hidden characters are not allowed in fields policy compares`
      : `policy cannot judge ${paths} as sent (rule ${refusal.rule}): send values it can compare`;
  return new CountersignError(
    'invalid_request',
    message,
    refusal.problems.map((p) => ({ path: p.path, message: p.needs })),
  );
}

/** The distinct identities of the approver groups of an outcome (`approvers`, or every group in `require`). */
export function approverIds(config: Pick<Config, 'groups'>, outcome: PolicyOutcome): string[] {
  const groups = outcome.require ? outcome.require.map((r) => r.group) : (outcome.approvers ?? []);
  const ids = new Set<string>();
  for (const group of groups) for (const member of config.groups[group]?.members ?? []) ids.add(member.id);
  return [...ids];
}

/**
 * The paths a decision masks beyond the config's own: the deciding rule's `mask`, and those of the shadow rules that
 * matched (masking never waits for a trial to be enforced).
 */
export function maskPathsOf(decision: PolicyDecision): string[] {
  const matched = (decision.shadow ?? []).flatMap((s) => (s.refused ? [] : [s.outcome]));
  return [decision.outcome, ...matched].flatMap((outcome) => outcome.mask ?? []);
}

/** A shadow verdict as the `policy_decided` record keeps it: the would-be effect and who it would have asked, or the paths it could not judge. */
export function shadowResult(config: Pick<Config, 'groups'>, verdict: ShadowVerdict): ShadowResult {
  if (verdict.refused) return { rule: verdict.rule, notJudged: verdict.problems.map((p) => p.path) };
  const { outcome } = verdict;
  return {
    rule: verdict.rule,
    effect: outcome.effect,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.effect === 'require_approval' ? { requiredApprovals: approvalsNeeded(outcome), approverIds: approverIds(config, outcome) } : {}),
  };
}

/**
 * The `policy_decided` record for a verdict: the rule, its effect and, for an approval, everything the workflow and
 * the approvers' channels act on (who, how many, where, until when, reminders and escalation); and what the shadow
 * rules reached would have done.
 */
export function policyDecidedData(
  config: Config,
  verdict: { readonly rule: string; readonly outcome: PolicyOutcome; readonly shadow?: readonly ShadowVerdict[] | undefined },
  policyVersion: string,
  now: Date,
  /** A grant that approves this request at once. */
  grantedBy?: GrantUse,
): PolicyDecidedData {
  const { rule, outcome } = verdict;
  const require = requirementsOf(config, outcome);
  const shadow = (verdict.shadow ?? []).map((s) => shadowResult(config, s));
  const base = {
    rule,
    effect: outcome.effect,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    requiredApprovals: approvalsNeeded(outcome),
    policyVersion,
    ...(shadow.length > 0 ? { shadow } : {}),
  };
  if (outcome.effect !== 'require_approval') return { ...base, approvers: [] };
  const seconds = timeoutSeconds(outcome);
  const offer = grantOfferOf(config, outcome);
  return {
    ...base,
    ...(require ? { require } : {}),
    approvers: approverIds(config, outcome),
    timeoutSeconds: seconds,
    expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
    channels: channelsFor(config, outcome),
    ...(outcome.requireSignIn ? { requireSignIn: true } : {}),
    ...(outcome.remindAfter ? { remindAfterSeconds: parseDuration(outcome.remindAfter) } : {}),
    ...(outcome.escalateAfter && outcome.escalateTo
      ? {
          escalateAfterSeconds: parseDuration(outcome.escalateAfter),
          escalateTo: approverIds(config, { effect: 'require_approval', approvers: outcome.escalateTo }),
        }
      : {}),
    ...(outcome.redeemWithin ? { redeemWithinSeconds: parseDuration(outcome.redeemWithin) } : {}),
    ...(offer ? { grant: offer } : {}),
    ...(grantedBy ? { grantedBy } : {}),
  };
}

/** What a rule offers approvers as a grant, bound to its digest; undefined for a rule without `grant`. */
export function grantOfferOf(config: Pick<Config, 'groups'>, outcome: PolicyOutcome | Rule): GrantOffer | undefined {
  const grant = 'grant' in outcome ? outcome.grant : undefined;
  if (!grant || outcome.effect !== 'require_approval') return undefined;
  const escalation = outcome.escalateTo ? approverIds(config, { effect: 'require_approval', approvers: outcome.escalateTo }) : [];
  return {
    maxForSeconds: parseDuration(grant.maxFor)!,
    scope: [...grant.scope],
    ruleDigest: ruleDigest(outcome, [...approverIds(config, outcome), ...escalation]),
  };
}
