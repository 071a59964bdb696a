/** Policy evaluation: the first rule whose match fits the request decides; otherwise the config's default does. */
import type { Config, ParameterCondition, PolicyOutcome, Rule } from './config';
import type { ActionRequest } from './request';

export interface PolicyDecision {
  /** The rule that decided, or `default`. */
  readonly rule: string;
  readonly outcome: PolicyOutcome;
}

/** What policy sees of a request: the agent's fields and who asked. */
export type PolicyInput = Pick<ActionRequest, 'action' | 'environment' | 'resource' | 'onBehalfOf' | 'agent' | 'parameters'> & { readonly requester?: string };

/** `*` matches any run of characters (including none); everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

const globMatches = (glob: string, value: string | undefined) => value !== undefined && globToRegExp(glob).test(value);

/** The value at a dotted path inside the parameters (own keys only: `__proto__` is just a missing key). */
export function parameterAt(parameters: Record<string, unknown> | undefined, path: string): unknown {
  let node: unknown = parameters;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Why a condition fails on `value`, or undefined when it holds. */
function conditionFailure(condition: ParameterCondition, value: unknown): string | undefined {
  const shown = value === undefined ? 'absent' : JSON.stringify(value);
  if (condition.exists !== undefined && (value !== undefined) !== condition.exists) return condition.exists ? 'is absent' : `is present (${shown})`;
  if (condition.equals !== undefined && value !== condition.equals) return `is ${shown}, not ${JSON.stringify(condition.equals)}`;
  if (condition.in !== undefined && !condition.in.some((v) => v === value)) return `is ${shown}, not one of ${JSON.stringify(condition.in)}`;
  if (condition.not !== undefined && [condition.not].flat().some((v) => v === value)) return `is ${shown}`;
  for (const [op, bound, holds] of [
    ['>', condition.gt, (v: number, b: number) => v > b],
    ['>=', condition.gte, (v: number, b: number) => v >= b],
    ['<', condition.lt, (v: number, b: number) => v < b],
    ['<=', condition.lte, (v: number, b: number) => v <= b],
  ] as const) {
    if (bound === undefined) continue;
    // Numbers only: a string "20000" is not compared as a number, so a type trick cannot dodge a rule.
    if (typeof value !== 'number' || !holds(value, bound)) return `is ${shown}, not ${op} ${bound}`;
  }
  if (condition.glob !== undefined && !(typeof value === 'string' && globMatches(condition.glob, value))) return `is ${shown}, not matching "${condition.glob}"`;
  return undefined;
}

/** Every reason a rule's match does not fit the request; empty when it fits. */
export function mismatches(rule: Rule, request: PolicyInput): string[] {
  const { action, environment, resource, requester, onBehalfOf, agent, parameters } = rule.match;
  const out: string[] = [];
  if (action !== undefined && !globMatches(action, request.action)) out.push(`action ${request.action} does not match "${action}"`);
  if (environment !== undefined) {
    const allowed = [environment].flat();
    if (request.environment === undefined || !allowed.includes(request.environment)) {
      out.push(`environment ${request.environment ?? '(none)'} is not ${allowed.join(' or ')}`);
    }
  }
  for (const [field, glob, value] of [
    ['resource', resource, request.resource],
    ['requester', requester, request.requester],
    ['onBehalfOf', onBehalfOf, request.onBehalfOf],
    ['agent.name', agent?.name, request.agent?.name],
  ] as const) {
    if (glob !== undefined && !globMatches(glob, value)) out.push(`${field} ${value ?? '(none)'} does not match "${glob}"`);
  }
  for (const [path, condition] of Object.entries(parameters ?? {})) {
    const failure = conditionFailure(condition, parameterAt(request.parameters, path));
    if (failure) out.push(`parameters.${path} ${failure}`);
  }
  return out;
}

export function ruleMatches(rule: Rule, request: PolicyInput): boolean {
  return mismatches(rule, request).length === 0;
}

export function evaluatePolicy(config: Pick<Config, 'rules' | 'default'>, request: PolicyInput): PolicyDecision {
  const rule = config.rules.find((r) => ruleMatches(r, request));
  return rule ? { rule: rule.name, outcome: rule } : { rule: 'default', outcome: config.default };
}

export interface PolicyExplanation extends PolicyDecision {
  /** The rules before the deciding one, each with why it did not match. */
  readonly skipped: ReadonlyArray<{ readonly rule: string; readonly because: readonly string[] }>;
}

/** The decision, and why every earlier rule did not match. */
export function explainPolicy(config: Pick<Config, 'rules' | 'default'>, request: PolicyInput): PolicyExplanation {
  const skipped: Array<{ rule: string; because: string[] }> = [];
  for (const rule of config.rules) {
    const because = mismatches(rule, request);
    if (because.length === 0) return { rule: rule.name, outcome: rule, skipped };
    skipped.push({ rule: rule.name, because });
  }
  return { rule: 'default', outcome: config.default, skipped };
}

/** The distinct identities of the approver groups of an outcome (`approvers`, or every group in `require`). */
export function approverIds(config: Pick<Config, 'groups'>, outcome: PolicyOutcome): string[] {
  const groups = outcome.require ? outcome.require.map((r) => r.group) : (outcome.approvers ?? []);
  const ids = new Set<string>();
  for (const group of groups) for (const member of config.groups[group]?.members ?? []) ids.add(member.id);
  return [...ids];
}

/** Quorum requirements of an outcome with their members, as recorded with the decision. */
export function requirementsOf(config: Pick<Config, 'groups'>, outcome: PolicyOutcome): Array<{ group: string; min: number; members: string[] }> | undefined {
  return outcome.require?.map((r) => ({ group: r.group, min: r.min, members: (config.groups[r.group]?.members ?? []).map((m) => m.id) }));
}
