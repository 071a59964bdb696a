/** Choice rules: validation when the definition is created, evaluation against a state's effective input. */
import { StatesError } from './errors';
import { isObject, PathSyntaxError, parsePath } from './jsonpath';
import { resolvePath } from './paths';

type Kind = 'string' | 'number' | 'boolean' | 'timestamp';
type Cmp = 'eq' | 'lt' | 'gt' | 'le' | 'ge';

const COMPARISONS: Readonly<Record<string, { kind: Kind; cmp: Cmp | 'match'; path: boolean }>> = (() => {
  const table: Record<string, { kind: Kind; cmp: Cmp | 'match'; path: boolean }> = {};
  const suffix: Record<Cmp, string> = { eq: 'Equals', lt: 'LessThan', gt: 'GreaterThan', le: 'LessThanEquals', ge: 'GreaterThanEquals' };
  const prefixes: Record<Kind, string> = { string: 'String', number: 'Numeric', boolean: 'Boolean', timestamp: 'Timestamp' };
  for (const [kind, prefix] of Object.entries(prefixes) as [Kind, string][]) {
    for (const [cmp, name] of Object.entries(suffix) as [Cmp, string][]) {
      if (kind === 'boolean' && cmp !== 'eq') continue;
      table[`${prefix}${name}`] = { kind, cmp, path: false };
      table[`${prefix}${name}Path`] = { kind, cmp, path: true };
    }
  }
  table.StringMatches = { kind: 'string', cmp: 'match', path: false };
  return table;
})();

const TYPE_TESTS = new Set(['IsNull', 'IsPresent', 'IsNumeric', 'IsString', 'IsBoolean', 'IsTimestamp']);

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch for an RFC 3339 timestamp as ASL accepts it, else undefined. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function checkPath(value: unknown, where: string, field: string, problems: string[]): void {
  if (typeof value !== 'string') {
    problems.push(`${where}: field "${field}" must be a JSONPath string`);
    return;
  }
  try {
    parsePath(value);
  } catch (err) {
    if (err instanceof PathSyntaxError) problems.push(`${where}: field "${field}": ${err.message}`);
    else throw err;
  }
}

/** Appends to `problems` what is wrong with one rule; `top` rules need `Next`, nested ones must not have it. */
export function validateChoiceRule(rule: unknown, where: string, top: boolean, problems: string[]): void {
  if (!isObject(rule)) {
    problems.push(`${where}: a choice rule must be an object`);
    return;
  }
  const keys = Object.keys(rule).filter((k) => k !== 'Next' && k !== 'Comment');
  if (top && typeof rule.Next !== 'string') problems.push(`${where}: a top-level choice rule needs "Next"`);
  if (!top && 'Next' in rule) problems.push(`${where}: a nested choice rule must not have "Next"`);
  if ('Assign' in rule || 'Condition' in rule) {
    problems.push(`${where}: field "${'Assign' in rule ? 'Assign' : 'Condition'}" is not supported by local Step Functions (JSONPath only)`);
    return;
  }
  for (const op of ['And', 'Or'] as const) {
    if (op in rule) {
      const list = rule[op];
      if (keys.length !== 1) problems.push(`${where}: "${op}" must be the only operator of its rule`);
      if (!Array.isArray(list) || list.length === 0) problems.push(`${where}: "${op}" must be a non-empty array of rules`);
      else list.forEach((r, k) => validateChoiceRule(r, `${where}.${op}[${k}]`, false, problems));
      return;
    }
  }
  if ('Not' in rule) {
    if (keys.length !== 1) problems.push(`${where}: "Not" must be the only operator of its rule`);
    validateChoiceRule(rule.Not, `${where}.Not`, false, problems);
    return;
  }
  if (!('Variable' in rule)) {
    problems.push(`${where}: a choice rule needs "Variable" (or And/Or/Not)`);
    return;
  }
  checkPath(rule.Variable, where, 'Variable', problems);
  const ops = keys.filter((k) => k !== 'Variable');
  if (ops.length !== 1) {
    problems.push(`${where}: a choice rule needs exactly one comparison operator, found ${ops.length ? ops.join(', ') : 'none'}`);
    return;
  }
  const op = ops[0] as string;
  const value = rule[op];
  if (TYPE_TESTS.has(op)) {
    if (typeof value !== 'boolean') problems.push(`${where}: "${op}" must be true or false`);
    return;
  }
  const spec = COMPARISONS[op];
  if (!spec) {
    problems.push(`${where}: comparison operator "${op}" is not supported by local Step Functions`);
    return;
  }
  if (spec.path) return checkPath(value, where, op, problems);
  const ok =
    spec.kind === 'number'
      ? typeof value === 'number'
      : spec.kind === 'boolean'
        ? typeof value === 'boolean'
        : spec.kind === 'timestamp'
          ? parseTimestamp(value) !== undefined
          : typeof value === 'string';
  if (!ok) problems.push(`${where}: "${op}" needs a ${spec.kind === 'timestamp' ? 'RFC 3339 timestamp string' : spec.kind} value`);
}

function compare(kind: Kind, cmp: Cmp, a: unknown, b: unknown): boolean {
  let x: number | string;
  let y: number | string;
  if (kind === 'timestamp') {
    const ta = parseTimestamp(a);
    const tb = parseTimestamp(b);
    if (ta === undefined || tb === undefined) return false;
    [x, y] = [ta, tb];
  } else if (kind === 'boolean') {
    return typeof a === 'boolean' && a === b;
  } else {
    // A value of another type than the operator's never matches; it is not an error.
    const type = kind === 'number' ? 'number' : 'string';
    if (typeof a !== type || typeof b !== type) return false;
    [x, y] = [a as number | string, b as number | string];
  }
  switch (cmp) {
    case 'eq':
      return x === y;
    case 'lt':
      return x < y;
    case 'gt':
      return x > y;
    case 'le':
      return x <= y;
    case 'ge':
      return x >= y;
  }
}

/** `*` matches any run of characters; `\*` and `\\` are literal. */
function matches(value: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern[++i] as string);
    else if (c === '*') re += '[\\s\\S]*';
    else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`).test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Evaluates a validated rule. A missing Variable is a `States.Runtime` error, except for IsPresent. */
export function evaluateChoiceRule(rule: Record<string, unknown>, input: unknown, context: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as Record<string, unknown>[]).every((r) => evaluateChoiceRule(r, input, context));
  if (Array.isArray(rule.Or)) return (rule.Or as Record<string, unknown>[]).some((r) => evaluateChoiceRule(r, input, context));
  if (isObject(rule.Not)) return !evaluateChoiceRule(rule.Not, input, context);
  const variable = rule.Variable as string;
  const found = resolvePath(variable, input, context);
  const op = Object.keys(rule).find((k) => k !== 'Variable' && k !== 'Next' && k !== 'Comment') as string;
  const expected = rule[op];
  if (op === 'IsPresent') return found.found === expected;
  if (!found.found) {
    throw new StatesError('States.Runtime', `Invalid path '${variable}': The choice state's condition path references an invalid value.`);
  }
  const v = found.value;
  switch (op) {
    case 'IsNull':
      return (v === null) === expected;
    case 'IsNumeric':
      return (typeof v === 'number') === expected;
    case 'IsString':
      return (typeof v === 'string') === expected;
    case 'IsBoolean':
      return (typeof v === 'boolean') === expected;
    case 'IsTimestamp':
      return (parseTimestamp(v) !== undefined) === expected;
    case 'StringMatches':
      return typeof v === 'string' && matches(v, expected as string);
  }
  const spec = COMPARISONS[op];
  if (!spec || spec.cmp === 'match') throw new StatesError('States.Runtime', `unsupported comparison "${op}"`);
  let other = expected;
  if (spec.path) {
    const r = resolvePath(expected as string, input, context);
    if (!r.found) {
      throw new StatesError('States.Runtime', `Invalid path '${String(expected)}': The choice state's condition path references an invalid value.`);
    }
    other = r.value;
  }
  return compare(spec.kind, spec.cmp, v, other);
}
