/**
 * Amazon States Language: the types of the subset local Step Functions runs, and the validation that refuses
 * everything else when the state machine is created, naming the state and the construct (a definition that would
 * only fail mid-execution is much harder to diagnose).
 */
import { parseTimestamp, validateChoiceRule } from './choice';
import { IntrinsicSyntaxError, isIntrinsic, parseIntrinsic } from './intrinsics';
import { isObject, PathSyntaxError, parsePath } from './jsonpath';

export interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds: number;
  readonly MaxAttempts: number;
  readonly BackoffRate: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy: 'FULL' | 'NONE';
}

export interface Catcher {
  readonly ErrorEquals: readonly string[];
  readonly Next: string;
  readonly ResultPath?: string | null;
}

export type TaskResource =
  /** `arn:aws:states:::lambda:invoke[.waitForTaskToken]`: Parameters carry FunctionName and Payload. */
  | { readonly kind: 'lambda-invoke'; readonly waitForTaskToken: boolean }
  /** A bare function ARN as Resource: the state's (Parameters-processed) input is the payload. */
  | { readonly kind: 'lambda-function'; readonly functionArn: string };

interface Flow {
  readonly Next?: string;
  readonly End?: boolean;
}
interface IO {
  readonly InputPath?: string | null;
  readonly OutputPath?: string | null;
}

export interface TaskState extends Flow, IO {
  readonly Type: 'Task';
  readonly Resource: string;
  readonly resource: TaskResource;
  readonly Parameters?: unknown;
  readonly ResultSelector?: unknown;
  readonly ResultPath?: string | null;
  readonly TimeoutSeconds?: number;
  readonly TimeoutSecondsPath?: string;
  readonly HeartbeatSeconds?: number;
  readonly HeartbeatSecondsPath?: string;
  readonly Retry: readonly Retrier[];
  readonly Catch: readonly Catcher[];
}
export interface PassState extends Flow, IO {
  readonly Type: 'Pass';
  readonly Parameters?: unknown;
  readonly Result?: unknown;
  readonly ResultPath?: string | null;
}
export interface WaitState extends Flow, IO {
  readonly Type: 'Wait';
  readonly Seconds?: number;
  readonly SecondsPath?: string;
  readonly Timestamp?: string;
  readonly TimestampPath?: string;
}
export interface ChoiceState extends IO {
  readonly Type: 'Choice';
  readonly Choices: readonly Record<string, unknown>[];
  readonly Default?: string;
}
export interface SucceedState extends IO {
  readonly Type: 'Succeed';
}
export interface FailState {
  readonly Type: 'Fail';
  readonly Error?: string;
  readonly ErrorPath?: string;
  readonly Cause?: string;
  readonly CausePath?: string;
}

export type State = TaskState | PassState | WaitState | ChoiceState | SucceedState | FailState;

export interface Definition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, State>>;
  readonly TimeoutSeconds?: number;
}

export type ValidationResult = { ok: true; definition: Definition } | { ok: false; problems: string[] };

const COMMON = ['Type', 'Comment', 'QueryLanguage'];
const IO_FIELDS = ['InputPath', 'OutputPath'];
const FLOW = ['Next', 'End'];
const ALLOWED: Readonly<Record<State['Type'], readonly string[]>> = {
  Task: [
    ...COMMON,
    ...IO_FIELDS,
    ...FLOW,
    'Resource',
    'Parameters',
    'ResultSelector',
    'ResultPath',
    'TimeoutSeconds',
    'TimeoutSecondsPath',
    'HeartbeatSeconds',
    'HeartbeatSecondsPath',
    'Retry',
    'Catch',
  ],
  Pass: [...COMMON, ...IO_FIELDS, ...FLOW, 'Parameters', 'Result', 'ResultPath'],
  Wait: [...COMMON, ...IO_FIELDS, ...FLOW, 'Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'],
  Choice: [...COMMON, ...IO_FIELDS, 'Choices', 'Default'],
  Succeed: [...COMMON, ...IO_FIELDS],
  Fail: [...COMMON, 'Error', 'ErrorPath', 'Cause', 'CausePath'],
};
const UNSUPPORTED_TYPES = new Set(['Map', 'Parallel']);
const MAX_SECONDS = 99_999_999;

const PARTITION = 'arn:aws[a-z-]*';
const LAMBDA_INVOKE = new RegExp(`^${PARTITION}:states:::lambda:invoke(\\.waitForTaskToken)?$`);
const LAMBDA_FUNCTION = new RegExp(`^${PARTITION}:lambda:[a-z0-9-]+:\\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$`);
const LAMBDA_INVOKE_PARAMETERS = new Set(['FunctionName', 'Payload']);

export function classifyResource(resource: string): TaskResource | undefined {
  const invoke = LAMBDA_INVOKE.exec(resource);
  if (invoke) return { kind: 'lambda-invoke', waitForTaskToken: invoke[1] !== undefined };
  if (LAMBDA_FUNCTION.test(resource)) return { kind: 'lambda-function', functionArn: resource };
  return undefined;
}

const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_SECONDS;

/** Parses and validates a definition; every problem found is reported, each naming its state and field. */
export function validateDefinition(text: string): ValidationResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`the definition is not valid JSON (${(err as Error).message})`] };
  }
  const problems: string[] = [];
  if (!isObject(raw)) return { ok: false, problems: ['the definition must be a JSON object'] };

  for (const key of Object.keys(raw)) {
    if (!['StartAt', 'States', 'Comment', 'TimeoutSeconds', 'Version', 'QueryLanguage'].includes(key)) {
      problems.push(`top-level field "${key}" is not supported by local Step Functions`);
    }
  }
  checkQueryLanguage(raw.QueryLanguage, 'the state machine', problems);
  if (raw.TimeoutSeconds !== undefined && !isPositiveInt(raw.TimeoutSeconds)) {
    problems.push('top-level "TimeoutSeconds" must be a positive integer');
  }
  if (!isObject(raw.States) || Object.keys(raw.States).length === 0) {
    problems.push('"States" must be a non-empty object');
    return { ok: false, problems };
  }
  const names = new Set(Object.keys(raw.States));
  if (typeof raw.StartAt !== 'string' || !names.has(raw.StartAt)) {
    problems.push(`"StartAt" must name a state, got ${JSON.stringify(raw.StartAt)}`);
  }

  const states: Record<string, State> = {};
  for (const [name, state] of Object.entries(raw.States)) {
    const validated = validateState(name, state, names, problems);
    if (validated) states[name] = validated;
  }
  if (problems.length === 0) checkReachable(raw.StartAt as string, states, problems);
  if (problems.length > 0) return { ok: false, problems };
  const definition: Definition = {
    StartAt: raw.StartAt as string,
    States: states,
    ...(raw.TimeoutSeconds !== undefined ? { TimeoutSeconds: raw.TimeoutSeconds as number } : {}),
  };
  return { ok: true, definition };
}

function checkQueryLanguage(value: unknown, where: string, problems: string[]): void {
  if (value === undefined || value === 'JSONPath') return;
  problems.push(`${where}: QueryLanguage ${JSON.stringify(value)} is not supported by local Step Functions (JSONPath only)`);
}

function checkPathField(value: unknown, where: string, field: string, problems: string[], opts: { nullable?: boolean; reference?: boolean } = {}): void {
  if (value === undefined) return;
  if (value === null && opts.nullable) return;
  if (typeof value !== 'string') {
    problems.push(`${where}: field "${field}" must be a JSONPath string${opts.nullable ? ' or null' : ''}`);
    return;
  }
  try {
    const parsed = parsePath(value);
    if (opts.reference && parsed.context) problems.push(`${where}: field "${field}" cannot refer to the context object ("$$")`);
  } catch (err) {
    if (err instanceof PathSyntaxError) problems.push(`${where}: field "${field}": ${err.message}`);
    else throw err;
  }
}

/** A `.$` value: a path, a context path, or an intrinsic function. */
function checkDynamicValue(value: unknown, where: string, field: string, problems: string[]): void {
  if (typeof value !== 'string') {
    problems.push(`${where}: field "${field}" must be a string (a JSONPath or an intrinsic function)`);
    return;
  }
  if (isIntrinsic(value)) {
    try {
      parseIntrinsic(value);
    } catch (err) {
      if (err instanceof IntrinsicSyntaxError) problems.push(`${where}: field "${field}": ${err.message}`);
      else throw err;
    }
    return;
  }
  if (value.startsWith('States.')) {
    problems.push(`${where}: field "${field}": "${value}" is not a valid intrinsic function call`);
    return;
  }
  checkPathField(value, where, field, problems);
}

function checkTemplate(template: unknown, where: string, field: string, problems: string[]): void {
  if (Array.isArray(template)) {
    template.forEach((item, k) => checkTemplate(item, where, `${field}[${k}]`, problems));
    return;
  }
  if (!isObject(template)) return;
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) checkDynamicValue(value, where, `${field}.${key}`, problems);
    else checkTemplate(value, where, `${field}.${key}`, problems);
  }
}

function checkErrorEquals(value: unknown, where: string, last: boolean, problems: string[]): readonly string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((e) => typeof e === 'string' && e.length > 0)) {
    problems.push(`${where}: "ErrorEquals" must be a non-empty array of error names`);
    return [];
  }
  if (value.includes('States.ALL') && (value.length !== 1 || !last)) {
    problems.push(`${where}: "States.ALL" must appear alone in ErrorEquals and only in the last element`);
  }
  return value as string[];
}

function validateRetry(value: unknown, where: string, problems: string[]): Retrier[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where}: "Retry" must be an array`);
    return [];
  }
  return value.map((r: unknown, k) => {
    const at = `${where} Retry[${k}]`;
    if (!isObject(r)) {
      problems.push(`${at}: must be an object`);
      return { ErrorEquals: [], IntervalSeconds: 1, MaxAttempts: 0, BackoffRate: 2, JitterStrategy: 'NONE' as const };
    }
    for (const key of Object.keys(r)) {
      if (!['ErrorEquals', 'IntervalSeconds', 'MaxAttempts', 'BackoffRate', 'MaxDelaySeconds', 'JitterStrategy', 'Comment'].includes(key)) {
        problems.push(`${at}: field "${key}" is not supported by local Step Functions`);
      }
    }
    const errorEquals = checkErrorEquals(r.ErrorEquals, at, k === value.length - 1, problems);
    if (r.IntervalSeconds !== undefined && !isPositiveInt(r.IntervalSeconds)) problems.push(`${at}: "IntervalSeconds" must be a positive integer`);
    if (r.MaxAttempts !== undefined && !(Number.isInteger(r.MaxAttempts) && (r.MaxAttempts as number) >= 0 && (r.MaxAttempts as number) <= MAX_SECONDS)) {
      problems.push(`${at}: "MaxAttempts" must be a non-negative integer`);
    }
    if (r.BackoffRate !== undefined && !(typeof r.BackoffRate === 'number' && r.BackoffRate >= 1))
      problems.push(`${at}: "BackoffRate" must be a number >= 1.0`);
    if (r.MaxDelaySeconds !== undefined && !isPositiveInt(r.MaxDelaySeconds)) problems.push(`${at}: "MaxDelaySeconds" must be a positive integer`);
    if (r.JitterStrategy !== undefined && r.JitterStrategy !== 'FULL' && r.JitterStrategy !== 'NONE')
      problems.push(`${at}: "JitterStrategy" must be FULL or NONE`);
    return {
      ErrorEquals: errorEquals,
      IntervalSeconds: (r.IntervalSeconds as number | undefined) ?? 1,
      MaxAttempts: (r.MaxAttempts as number | undefined) ?? 3,
      BackoffRate: (r.BackoffRate as number | undefined) ?? 2,
      ...(r.MaxDelaySeconds !== undefined ? { MaxDelaySeconds: r.MaxDelaySeconds as number } : {}),
      JitterStrategy: (r.JitterStrategy as 'FULL' | 'NONE' | undefined) ?? 'NONE',
    };
  });
}

function validateCatch(value: unknown, where: string, names: Set<string>, problems: string[]): Catcher[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where}: "Catch" must be an array`);
    return [];
  }
  return value.map((c: unknown, k) => {
    const at = `${where} Catch[${k}]`;
    if (!isObject(c)) {
      problems.push(`${at}: must be an object`);
      return { ErrorEquals: [], Next: '' };
    }
    for (const key of Object.keys(c)) {
      if (!['ErrorEquals', 'Next', 'ResultPath', 'Comment'].includes(key)) problems.push(`${at}: field "${key}" is not supported by local Step Functions`);
    }
    const errorEquals = checkErrorEquals(c.ErrorEquals, at, k === value.length - 1, problems);
    if (typeof c.Next !== 'string' || !names.has(c.Next)) problems.push(`${at}: "Next" must name a state, got ${JSON.stringify(c.Next)}`);
    checkPathField(c.ResultPath, at, 'ResultPath', problems, { nullable: true, reference: true });
    return { ErrorEquals: errorEquals, Next: c.Next as string, ...('ResultPath' in c ? { ResultPath: c.ResultPath as string | null } : {}) };
  });
}

function validateState(name: string, state: unknown, names: Set<string>, problems: string[]): State | undefined {
  const where = `State "${name}"`;
  if (name.length === 0 || name.length > 80) problems.push(`${where}: state names must be 1 to 80 characters`);
  if (!isObject(state)) {
    problems.push(`${where}: must be an object`);
    return undefined;
  }
  const type = state.Type;
  if (typeof type === 'string' && UNSUPPORTED_TYPES.has(type)) {
    problems.push(`${where}: type "${type}" is not supported by local Step Functions`);
    return undefined;
  }
  if (typeof type !== 'string' || !Object.hasOwn(ALLOWED, type)) {
    problems.push(`${where}: type ${JSON.stringify(type)} is not a supported state type`);
    return undefined;
  }
  const t = type as State['Type'];
  const before = problems.length;
  for (const key of Object.keys(state)) {
    if (!ALLOWED[t].includes(key)) problems.push(`${where}: field "${key}" is not supported by local Step Functions in a ${t} state`);
  }
  checkQueryLanguage(state.QueryLanguage, where, problems);

  if (ALLOWED[t].includes('Next')) {
    const hasNext = state.Next !== undefined;
    const hasEnd = state.End !== undefined;
    if (hasNext === hasEnd) problems.push(`${where}: exactly one of "Next" or "End" is required`);
    if (hasNext && (typeof state.Next !== 'string' || !names.has(state.Next)))
      problems.push(`${where}: "Next" must name a state, got ${JSON.stringify(state.Next)}`);
    if (hasEnd && state.End !== true) problems.push(`${where}: "End" must be true`);
  }
  checkPathField(state.InputPath, where, 'InputPath', problems, { nullable: true });
  checkPathField(state.OutputPath, where, 'OutputPath', problems, { nullable: true });
  checkPathField(state.ResultPath, where, 'ResultPath', problems, { nullable: true, reference: true });
  if (state.Parameters !== undefined) {
    if (!isObject(state.Parameters)) problems.push(`${where}: "Parameters" must be an object`);
    checkTemplate(state.Parameters, where, 'Parameters', problems);
  }
  if (state.ResultSelector !== undefined) {
    if (!isObject(state.ResultSelector)) problems.push(`${where}: "ResultSelector" must be an object`);
    checkTemplate(state.ResultSelector, where, 'ResultSelector', problems);
  }

  switch (t) {
    case 'Task': {
      let resource: TaskResource | undefined;
      if (typeof state.Resource !== 'string') {
        problems.push(`${where}: "Resource" must be a string`);
      } else {
        resource = classifyResource(state.Resource);
        if (!resource)
          problems.push(
            `${where}: resource "${state.Resource}" is not supported by local Step Functions (only Lambda invoke, invoke.waitForTaskToken and function ARNs)`,
          );
      }
      if (resource?.kind === 'lambda-invoke') {
        const params = isObject(state.Parameters) ? state.Parameters : undefined;
        if (!params || !('FunctionName' in params || 'FunctionName.$' in params)) {
          problems.push(`${where}: "Parameters" must include "FunctionName" for ${state.Resource as string}`);
        }
        for (const key of Object.keys(params ?? {})) {
          if (!LAMBDA_INVOKE_PARAMETERS.has(key.replace(/\.\$$/, ''))) {
            problems.push(`${where}: Lambda invoke parameter "${key}" is not supported by local Step Functions`);
          }
        }
      }
      for (const f of ['TimeoutSeconds', 'HeartbeatSeconds'] as const) {
        if (state[f] !== undefined && !isPositiveInt(state[f])) problems.push(`${where}: "${f}" must be a positive integer`);
        if (state[f] !== undefined && state[`${f}Path`] !== undefined) problems.push(`${where}: "${f}" and "${f}Path" are mutually exclusive`);
        checkPathField(state[`${f}Path`], where, `${f}Path`, problems, { reference: true });
      }
      if (isPositiveInt(state.TimeoutSeconds) && isPositiveInt(state.HeartbeatSeconds) && state.HeartbeatSeconds >= state.TimeoutSeconds) {
        problems.push(`${where}: "HeartbeatSeconds" must be smaller than "TimeoutSeconds"`);
      }
      const Retry = validateRetry(state.Retry, where, problems);
      const Catch = validateCatch(state.Catch, where, names, problems);
      if (problems.length > before || !resource) return undefined;
      return { ...(state as object), Type: 'Task', Resource: state.Resource as string, resource, Retry, Catch } as TaskState;
    }
    case 'Wait': {
      const given = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'].filter((f) => state[f] !== undefined);
      if (given.length !== 1) problems.push(`${where}: exactly one of Seconds, SecondsPath, Timestamp or TimestampPath is required`);
      if (state.Seconds !== undefined && !(Number.isInteger(state.Seconds) && (state.Seconds as number) >= 0 && (state.Seconds as number) <= MAX_SECONDS)) {
        problems.push(`${where}: "Seconds" must be a non-negative integer`);
      }
      if (state.Timestamp !== undefined && parseTimestamp(state.Timestamp) === undefined) problems.push(`${where}: "Timestamp" must be an RFC 3339 timestamp`);
      checkPathField(state.SecondsPath, where, 'SecondsPath', problems, { reference: true });
      checkPathField(state.TimestampPath, where, 'TimestampPath', problems, { reference: true });
      break;
    }
    case 'Choice': {
      if (!Array.isArray(state.Choices) || state.Choices.length === 0) {
        problems.push(`${where}: "Choices" must be a non-empty array`);
      } else {
        state.Choices.forEach((rule, k) => {
          validateChoiceRule(rule, `${where} Choices[${k}]`, true, problems);
          if (isObject(rule) && typeof rule.Next === 'string' && !names.has(rule.Next)) {
            problems.push(`${where} Choices[${k}]: "Next" must name a state, got "${rule.Next}"`);
          }
        });
      }
      if (state.Default !== undefined && (typeof state.Default !== 'string' || !names.has(state.Default))) {
        problems.push(`${where}: "Default" must name a state, got ${JSON.stringify(state.Default)}`);
      }
      break;
    }
    case 'Fail': {
      for (const f of ['Error', 'Cause'] as const) {
        if (state[f] !== undefined && typeof state[f] !== 'string') problems.push(`${where}: "${f}" must be a string`);
        if (state[f] !== undefined && state[`${f}Path`] !== undefined) problems.push(`${where}: "${f}" and "${f}Path" are mutually exclusive`);
        if (state[`${f}Path`] !== undefined) checkDynamicValue(state[`${f}Path`], where, `${f}Path`, problems);
      }
      break;
    }
    case 'Pass':
    case 'Succeed':
      break;
  }
  if (problems.length > before) return undefined;
  return state as unknown as State;
}

/** AWS refuses definitions with states that no transition reaches. */
function checkReachable(startAt: string, states: Readonly<Record<string, State>>, problems: string[]): void {
  const seen = new Set<string>();
  const queue = [startAt];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const s = states[name];
    if (!s) continue;
    if ('Next' in s && typeof s.Next === 'string') queue.push(s.Next);
    if (s.Type === 'Task') for (const c of s.Catch) queue.push(c.Next);
    if (s.Type === 'Choice') {
      for (const rule of s.Choices) if (typeof rule.Next === 'string') queue.push(rule.Next);
      if (s.Default) queue.push(s.Default);
    }
  }
  for (const name of Object.keys(states)) if (!seen.has(name)) problems.push(`State "${name}" is not reachable from "${String(startAt)}"`);
}
