/** Policy evaluation: the first rule whose match fits the request decides; otherwise the config's default does. */
import type { Config, PolicyOutcome, Rule } from './config';
import type { ActionRequest } from './request';

export interface PolicyDecision {
  /** The rule that decided, or `default`. */
  readonly rule: string;
  readonly outcome: PolicyOutcome;
}

/** `*` matches any run of characters (including none); everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

export function ruleMatches(rule: Rule, request: Pick<ActionRequest, 'action' | 'environment'>): boolean {
  const { action, environment } = rule.match;
  if (action !== undefined && !globToRegExp(action).test(request.action)) return false;
  if (environment !== undefined) {
    const allowed = Array.isArray(environment) ? environment : [environment];
    if (request.environment === undefined || !allowed.includes(request.environment)) return false;
  }
  return true;
}

export function evaluatePolicy(config: Pick<Config, 'rules' | 'default'>, request: Pick<ActionRequest, 'action' | 'environment'>): PolicyDecision {
  const rule = config.rules.find((r) => ruleMatches(r, request));
  return rule ? { rule: rule.name, outcome: rule } : { rule: 'default', outcome: config.default };
}

/** The distinct identities of the approver groups of an outcome. */
export function approverIds(config: Pick<Config, 'groups'>, outcome: PolicyOutcome): string[] {
  const ids = new Set<string>();
  for (const group of outcome.approvers ?? []) for (const member of config.groups[group]?.members ?? []) ids.add(member.id);
  return [...ids];
}
