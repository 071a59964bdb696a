/**
 * Runs executions of validated definitions. Each execution is one JSON document rewritten (atomically) at every
 * transition, holding everything needed to resume after a restart: the current state and its raw input, retry
 * counters, issued task tokens, and absolute deadlines (task timeout, heartbeat, Wait end, retry backoff end).
 *
 * Mutations are synchronous and re-check the current attempt's id, so a late Lambda result, a timer and a
 * SendTask* call can never both complete the same attempt.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AwsServiceError } from '../aws-json';
import { readJsonDir, writeJsonAtomic } from '../file-store';
import { type Definition, type State, type TaskState, validateDefinition } from './asl';
import { evaluateChoiceRule, parseTimestamp } from './choice';
import { errorMatches, lambdaError, StatesError } from './errors';
import { evaluateIntrinsic, isIntrinsic, parseIntrinsic } from './intrinsics';
import { isObject } from './jsonpath';
import { applyResultPath, evaluateTemplate, readPath, selectPath } from './paths';

/** Invokes a Lambda function by ARN with a payload; resolves its result or throws an Error whose `name` is the error type (as Lambda's errorType). */
export type LambdaInvoker = (functionArn: string, payload: unknown) => Promise<unknown>;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly type: string;
  readonly id: number;
  readonly previousEventId: number;
  readonly [details: string]: unknown;
}

/** What the current state is doing. Deadlines are epoch milliseconds, so they survive a restart unchanged. */
export type Phase =
  /** About to run the state (just entered, or a retry whose backoff is over). */
  | { kind: 'ready' }
  | {
      kind: 'task';
      /** Identifies this attempt; results and timers of other attempts are ignored. */
      id: string;
      functionArn: string;
      payload: unknown;
      /** Set for `.waitForTaskToken`: the task completes by SendTaskSuccess/Failure, not by the invoke's result. */
      token?: string;
      /** For `.waitForTaskToken`: the function was invoked successfully, so a restart must not invoke it again. */
      invoked: boolean;
      timeoutSeconds?: number;
      timeoutAt?: number;
      heartbeatSeconds?: number;
      heartbeatAt?: number;
    }
  | { kind: 'wait'; until: number }
  | { kind: 'backoff'; until: number };

export interface CurrentState {
  name: string;
  enteredTime: number;
  /** The raw state input (before InputPath): ResultPath and Catch merge into it. */
  input: unknown;
  retryCount: number;
  /** Attempts used per retrier, by index in the state's Retry array. */
  retrierAttempts: number[];
  phase: Phase;
}

export interface ExecutionRecord {
  version: 1;
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  roleArn: string;
  /** The definition the execution started with (UpdateStateMachine does not affect running executions). */
  definition: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** The execution's own deadline (top-level TimeoutSeconds). */
  timeoutAt?: number;
  current?: CurrentState;
  /** Every token this execution issued: `open` while its task waits, `closed` afterwards (answers TaskTimedOut). */
  tokens: Record<string, 'open' | 'closed'>;
  events: HistoryEvent[];
}

export interface ExecutionSummary {
  status: string;
  output?: string;
  error?: string;
  cause?: string;
}

/** What StartExecution fixes about an execution; the engine tracks the rest. */
export type NewExecution = Pick<ExecutionRecord, 'executionArn' | 'stateMachineArn' | 'stateMachineName' | 'name' | 'roleArn' | 'definition' | 'input'>;

interface Live {
  rec: ExecutionRecord;
  def?: Definition;
  parsedInput?: unknown;
  timer?: NodeJS.Timeout;
  /** The attempt whose Lambda invocation is in flight in this process. */
  inflight?: string;
}

/** setTimeout holds at most 2^31-1 ms (~24.8 days); longer deadlines are reached by chaining timers. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Transitions run synchronously in a burst, then yield so a looping definition cannot starve the process. */
const BURST = 250;
/** AWS's execution history quota; it also stops a looping definition from growing its record forever. */
const MAX_EVENTS = 25_000;
/** Tokens are opaque and unguessable: 64 random bytes, base64url (86 characters, well under AWS's 2048). */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{86}$/;

const iso = (ms: number): string => new Date(ms).toISOString();
const json = (value: unknown): string => JSON.stringify(value) ?? 'null';

export class ExecutionEngine {
  private readonly live = new Map<string, Live>();
  private readonly tokenIndex = new Map<string, string>();
  private readonly waiters = new Map<string, Set<(closed?: Error) => void>>();
  private readonly definitions = new Map<string, Definition | string>();
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly invokeLambda: LambdaInvoker,
    private readonly region: string,
    /** Multiplies every Retry backoff (1: as the definition says). Task timeouts and Wait states keep real time. */
    private readonly retryDelayScale = 1,
  ) {}

  /** Loads every persisted execution and resumes the running ones. */
  load(): void {
    for (const rec of readJsonDir<ExecutionRecord>(this.dir)) {
      this.live.set(rec.executionArn, { rec });
      for (const token of Object.keys(rec.tokens)) this.tokenIndex.set(token, rec.executionArn);
    }
    for (const l of this.live.values()) if (l.rec.status === 'RUNNING') this.resume(l);
  }

  close(): void {
    this.closed = true;
    for (const l of this.live.values()) {
      if (l.timer) clearTimeout(l.timer);
      l.timer = undefined;
    }
    for (const set of this.waiters.values()) for (const w of set) w(new Error('local Step Functions closed'));
    this.waiters.clear();
  }

  get(executionArn: string): ExecutionRecord | undefined {
    return this.live.get(executionArn)?.rec;
  }

  list(): ExecutionRecord[] {
    return [...this.live.values()].map((l) => l.rec);
  }

  start(spec: NewExecution): ExecutionRecord {
    const now = Date.now();
    const rec: ExecutionRecord = {
      version: 1,
      ...spec,
      status: 'RUNNING',
      startDate: now,
      tokens: {},
      events: [],
    };
    const l: Live = { rec };
    this.live.set(rec.executionArn, l);
    this.event(l, 'ExecutionStarted', {
      executionStartedEventDetails: { input: rec.input, inputDetails: { truncated: false }, roleArn: rec.roleArn },
    });
    const def = this.definition(l);
    if (def) {
      if (def.TimeoutSeconds !== undefined) rec.timeoutAt = now + def.TimeoutSeconds * 1000;
      this.enterState(l, def.StartAt, this.input(l));
    }
    this.advance(l);
    return rec;
  }

  stop(executionArn: string, error?: string, cause?: string): void {
    const l = this.live.get(executionArn);
    if (l?.rec.status !== 'RUNNING') return;
    this.event(l, 'ExecutionAborted', { executionAbortedEventDetails: { error, cause } });
    this.finish(l, 'ABORTED', { error, cause });
  }

  sendTaskSuccess(token: string, output: unknown): void {
    const l = this.openTask(token);
    this.taskSucceeded(l, output);
  }

  sendTaskFailure(token: string, error?: string, cause?: string): void {
    const l = this.openTask(token);
    this.taskFailed(l, new StatesError(error ?? '', cause), false);
  }

  sendTaskHeartbeat(token: string): void {
    const l = this.openTask(token);
    const phase = l.rec.current?.phase;
    if (phase?.kind === 'task' && phase.heartbeatSeconds !== undefined) {
      phase.heartbeatAt = Date.now() + phase.heartbeatSeconds * 1000;
      this.settle(l);
    }
  }

  waitFor(executionArn: string, timeoutMs: number): Promise<ExecutionSummary> {
    const l = this.live.get(executionArn);
    if (!l) return Promise.reject(new Error(`execution ${executionArn} does not exist`));
    const summary = (): ExecutionSummary => {
      const { status, output, error, cause } = l.rec;
      return { status, ...(output !== undefined ? { output } : {}), ...(error !== undefined ? { error } : {}), ...(cause !== undefined ? { cause } : {}) };
    };
    if (l.rec.status !== 'RUNNING') return Promise.resolve(summary());
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(executionArn) ?? new Set();
      this.waiters.set(executionArn, set);
      const done = (closed?: Error): void => {
        clearTimeout(timer);
        set.delete(done);
        if (closed) reject(closed);
        else resolve(summary());
      };
      const timer = setTimeout(() => {
        set.delete(done);
        reject(new Error(`execution ${executionArn} still ${l.rec.status} after ${timeoutMs} ms`));
      }, timeoutMs);
      set.add(done);
    });
  }

  // ---- tokens -------------------------------------------------------------------------------------------------

  private openTask(token: string): Live {
    const arn = TOKEN_PATTERN.test(token) ? this.tokenIndex.get(token) : undefined;
    if (!arn) throw new AwsServiceError('InvalidToken', 'Invalid Token');
    const l = this.live.get(arn);
    const phase = l?.rec.current?.phase;
    if (l?.rec.status !== 'RUNNING' || phase?.kind !== 'task' || phase.token !== token || l.rec.tokens[token] !== 'open') {
      throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: the task of this token is no longer waiting');
    }
    return l;
  }

  private closeToken(l: Live): void {
    const phase = l.rec.current?.phase;
    if (phase?.kind === 'task' && phase.token) l.rec.tokens[phase.token] = 'closed';
  }

  // ---- driving --------------------------------------------------------------------------------------------------

  /**
   * Picks a restarted execution up where it was. A task that was mid-invoke is invoked again (at-least-once,
   * like a Lambda retry): the process may have died before or after the function ran. A `.waitForTaskToken` task
   * whose function was already invoked just keeps waiting, with the same token and its original deadlines.
   */
  private resume(l: Live): void {
    if (!this.definition(l)) return this.advance(l);
    if (!l.rec.current) return this.fail(l, 'States.Runtime', 'the execution has no current state');
    if (l.rec.current.phase.kind === 'ready') this.advance(l);
    else this.settle(l);
  }

  /** Runs ready states until the execution waits (task, Wait, backoff) or ends, then persists and arms timers. */
  private advance(l: Live): void {
    let steps = 0;
    while (!this.closed && l.rec.status === 'RUNNING' && l.rec.current?.phase.kind === 'ready') {
      if (++steps > BURST) {
        this.settle(l);
        setImmediate(() => {
          if (!this.closed) this.advance(l);
        });
        return;
      }
      if (l.rec.events.length >= MAX_EVENTS) {
        this.fail(l, 'States.Runtime', `The execution reached the maximum number of history events (${MAX_EVENTS}).`);
        break;
      }
      try {
        this.runState(l);
      } catch (err) {
        this.failFromError(l, err);
      }
    }
    this.settle(l);
  }

  /** Persists, re-arms the timer, and starts the current attempt's invocation if it is not running yet. */
  private settle(l: Live): void {
    if (this.closed) return;
    this.save(l);
    this.arm(l);
    const phase = l.rec.current?.phase;
    if (l.rec.status !== 'RUNNING' || phase?.kind !== 'task') return;
    if ((phase.token && phase.invoked) || l.inflight === phase.id) return;
    l.inflight = phase.id;
    const arn = l.rec.executionArn;
    const { id, functionArn } = phase;
    const payload = structuredClone(phase.payload);
    // Invoked asynchronously and never awaited here: a function that never returns blocks nothing else.
    void Promise.resolve()
      .then(() => this.invokeLambda(functionArn, payload))
      .then(
        (result) => this.onInvoked(arn, id, { ok: true, result }),
        (err: unknown) => this.onInvoked(arn, id, { ok: false, err }),
      )
      .catch((err: unknown) => console.error('[local sfn] internal error after an invocation:', err));
  }

  private onInvoked(arn: string, id: string, outcome: { ok: true; result: unknown } | { ok: false; err: unknown }): void {
    if (this.closed) return;
    const l = this.live.get(arn);
    const phase = l?.rec.current?.phase;
    // Stale: the attempt timed out, the token was already answered, or the execution was stopped.
    if (l?.rec.status !== 'RUNNING' || phase?.kind !== 'task' || phase.id !== id) return;
    l.inflight = undefined;
    if (!outcome.ok) return this.taskFailed(l, lambdaError(outcome.err), false);
    let result: unknown;
    try {
      result = JSON.parse(JSON.stringify(outcome.result) ?? 'null');
    } catch (err) {
      return this.taskFailed(l, new StatesError('Lambda.Unknown', `the function result is not JSON: ${(err as Error).message}`), false);
    }
    const state = this.state(l) as TaskState;
    if (phase.token) {
      phase.invoked = true;
      this.event(l, 'TaskSubmitted', { taskSubmittedEventDetails: { ...this.resourceInfo(state), output: json(this.invokeResult(result)) } });
      return this.settle(l);
    }
    this.taskSucceeded(l, state.resource.kind === 'lambda-invoke' ? this.invokeResult(result) : result);
  }

  /** The optimized Lambda integration's result shape. */
  private invokeResult(payload: unknown): unknown {
    const requestId = randomUUID();
    const now = new Date().toUTCString();
    const headers = {
      Connection: 'keep-alive',
      'Content-Type': 'application/json',
      Date: now,
      'X-Amz-Executed-Version': '$LATEST',
      'x-amzn-Remapped-Content-Length': '0',
      'x-amzn-RequestId': requestId,
    };
    return {
      ExecutedVersion: '$LATEST',
      Payload: payload,
      SdkHttpMetadata: { AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])), HttpHeaders: headers, HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: 200,
    };
  }

  // ---- timers ---------------------------------------------------------------------------------------------------

  private arm(l: Live): void {
    if (l.timer) clearTimeout(l.timer);
    l.timer = undefined;
    if (this.closed || l.rec.status !== 'RUNNING') return;
    const phase = l.rec.current?.phase;
    const deadlines = [l.rec.timeoutAt];
    if (phase?.kind === 'task') deadlines.push(phase.timeoutAt, phase.heartbeatAt);
    if (phase?.kind === 'wait' || phase?.kind === 'backoff') deadlines.push(phase.until);
    const due = Math.min(...deadlines.filter((d): d is number => d !== undefined));
    if (!Number.isFinite(due)) return;
    l.timer = setTimeout(
      () => {
        l.timer = undefined;
        this.onTimer(l);
      },
      Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS),
    );
  }

  private onTimer(l: Live): void {
    if (this.closed || l.rec.status !== 'RUNNING') return;
    const now = Date.now();
    const cur = l.rec.current;
    if (l.rec.timeoutAt !== undefined && now >= l.rec.timeoutAt) {
      const seconds = this.definition(l)?.TimeoutSeconds;
      const cause = `The execution did not complete within its TimeoutSeconds (${seconds ?? '?'} s)`;
      this.closeToken(l);
      this.event(l, 'ExecutionTimedOut', { executionTimedOutEventDetails: { error: 'States.Timeout', cause } });
      return this.finish(l, 'TIMED_OUT', { error: 'States.Timeout', cause });
    }
    const phase = cur?.phase;
    if (cur && phase?.kind === 'task') {
      if (phase.timeoutAt !== undefined && now >= phase.timeoutAt) {
        return this.taskFailed(l, new StatesError('States.Timeout', `The task did not complete within ${phase.timeoutSeconds ?? '?'} seconds`), true);
      }
      if (phase.heartbeatAt !== undefined && now >= phase.heartbeatAt) {
        return this.taskFailed(
          l,
          new StatesError('States.HeartbeatTimeout', `No heartbeat was received within ${phase.heartbeatSeconds ?? '?'} seconds`),
          true,
        );
      }
    } else if (cur && phase?.kind === 'wait' && now >= phase.until) {
      try {
        const state = this.state(l);
        if (state.Type !== 'Wait') throw new StatesError('States.Runtime', `state "${cur.name}" is not a Wait state`);
        const ctx = this.context(l);
        const effective = selectPath(state.InputPath, cur.input, ctx, 'InputPath');
        this.exitState(l, state, selectPath(state.OutputPath, effective, ctx, 'OutputPath'));
      } catch (err) {
        this.failFromError(l, err);
      }
      return this.advance(l);
    } else if (cur && phase?.kind === 'backoff' && now >= phase.until) {
      cur.retryCount += 1;
      cur.phase = { kind: 'ready' };
      return this.advance(l);
    }
    this.arm(l); // a chained timer for a far deadline, or fired a little early
  }

  // ---- states ---------------------------------------------------------------------------------------------------

  private definition(l: Live): Definition | undefined {
    if (l.def) return l.def;
    let cached = this.definitions.get(l.rec.definition);
    if (!cached) {
      const result = validateDefinition(l.rec.definition);
      cached = result.ok ? result.definition : result.problems.join('; ');
      this.definitions.set(l.rec.definition, cached);
    }
    if (typeof cached === 'string') {
      // Only reachable if a persisted definition no longer validates (e.g. after an upgrade): fail, don't crash.
      this.fail(l, 'States.Runtime', `The state machine definition is not supported: ${cached}`);
      return undefined;
    }
    l.def = cached;
    return cached;
  }

  private input(l: Live): unknown {
    if (!('parsedInput' in l)) l.parsedInput = JSON.parse(l.rec.input);
    return l.parsedInput;
  }

  private state(l: Live): State {
    const name = l.rec.current?.name ?? '';
    const state = this.definition(l)?.States[name];
    if (!state) throw new StatesError('States.Runtime', `state "${name}" does not exist in the definition`);
    return state;
  }

  /** The context object (`$$`). */
  private context(l: Live, token?: string): unknown {
    const { rec } = l;
    const cur = rec.current;
    return {
      Execution: { Id: rec.executionArn, Input: this.input(l), Name: rec.name, RoleArn: rec.roleArn, StartTime: iso(rec.startDate), RedriveCount: 0 },
      StateMachine: { Id: rec.stateMachineArn, Name: rec.stateMachineName },
      State: { Name: cur?.name, EnteredTime: cur ? iso(cur.enteredTime) : undefined, RetryCount: cur?.retryCount ?? 0 },
      ...(token ? { Task: { Token: token } } : {}),
    };
  }

  private enterState(l: Live, name: string, input: unknown): void {
    const state = this.definition(l)?.States[name];
    if (!state) throw new StatesError('States.Runtime', `state "${name}" does not exist in the definition`);
    l.rec.current = { name, enteredTime: Date.now(), input, retryCount: 0, retrierAttempts: [], phase: { kind: 'ready' } };
    this.event(l, `${state.Type}StateEntered`, { stateEnteredEventDetails: { name, input: json(input), inputDetails: { truncated: false } } });
  }

  private exitState(l: Live, state: State, output: unknown): void {
    const name = l.rec.current?.name as string;
    this.event(l, `${state.Type}StateExited`, { stateExitedEventDetails: { name, output: json(output), outputDetails: { truncated: false } } });
    if (state.Type === 'Succeed' || ('End' in state && state.End)) return this.succeed(l, output);
    if ('Next' in state && state.Next) return this.enterState(l, state.Next, output);
    throw new StatesError('States.Runtime', `state "${name}" has no transition`);
  }

  private runState(l: Live): void {
    const cur = l.rec.current as CurrentState;
    const state = this.state(l);
    const ctx = this.context(l);
    switch (state.Type) {
      case 'Pass': {
        const effective = selectPath(state.InputPath, cur.input, ctx, 'InputPath');
        let result = state.Parameters !== undefined ? evaluateTemplate(state.Parameters, effective, ctx) : effective;
        if ('Result' in state) result = state.Result;
        return this.exitState(l, state, selectPath(state.OutputPath, applyResultPath(state.ResultPath, cur.input, result), ctx, 'OutputPath'));
      }
      case 'Choice': {
        const effective = selectPath(state.InputPath, cur.input, ctx, 'InputPath');
        const rule = state.Choices.find((r) => evaluateChoiceRule(r, effective, ctx));
        const next = (rule?.Next as string | undefined) ?? state.Default;
        if (!next) throw new StatesError('States.NoChoiceMatched', `No choice rule matched and there is no Default (input '${json(effective)}')`);
        const output = selectPath(state.OutputPath, effective, ctx, 'OutputPath');
        this.event(l, 'ChoiceStateExited', { stateExitedEventDetails: { name: cur.name, output: json(output), outputDetails: { truncated: false } } });
        return this.enterState(l, next, output);
      }
      case 'Wait': {
        const effective = selectPath(state.InputPath, cur.input, ctx, 'InputPath');
        let until: number;
        if (state.Seconds !== undefined) {
          until = Date.now() + state.Seconds * 1000;
        } else if (state.SecondsPath !== undefined) {
          const seconds = readPath(state.SecondsPath, effective, ctx, 'SecondsPath');
          if (!Number.isInteger(seconds) || (seconds as number) < 0) {
            throw new StatesError('States.Runtime', `SecondsPath '${state.SecondsPath}' must point to a non-negative integer, got ${json(seconds)}`);
          }
          until = Date.now() + (seconds as number) * 1000;
        } else {
          const ts = state.Timestamp ?? readPath(state.TimestampPath as string, effective, ctx, 'TimestampPath');
          const ms = parseTimestamp(ts);
          if (ms === undefined)
            throw new StatesError('States.Runtime', `TimestampPath '${state.TimestampPath}' must point to an RFC 3339 timestamp, got ${json(ts)}`);
          until = ms;
        }
        cur.phase = { kind: 'wait', until };
        return;
      }
      case 'Succeed': {
        const effective = selectPath(state.InputPath, cur.input, ctx, 'InputPath');
        return this.exitState(l, state, selectPath(state.OutputPath, effective, ctx, 'OutputPath'));
      }
      case 'Fail': {
        const dynamic = (path: string | undefined, field: string): string | undefined => {
          if (path === undefined) return undefined;
          const value = isIntrinsic(path) ? evaluateIntrinsic(parseIntrinsic(path), cur.input, ctx) : readPath(path, cur.input, ctx, field);
          if (typeof value !== 'string') throw new StatesError('States.Runtime', `${field} '${path}' must resolve to a string, got ${json(value)}`);
          return value;
        };
        const error = state.Error ?? dynamic(state.ErrorPath, 'ErrorPath');
        const cause = state.Cause ?? dynamic(state.CausePath, 'CausePath');
        return this.fail(l, error, cause);
      }
      case 'Task':
        return this.scheduleTask(l, state);
    }
  }

  private resourceInfo(state: TaskState): { resourceType: string; resource: string } {
    if (state.resource.kind === 'lambda-invoke') {
      return { resourceType: 'lambda', resource: state.resource.waitForTaskToken ? 'invoke.waitForTaskToken' : 'invoke' };
    }
    return { resourceType: 'lambda', resource: state.resource.functionArn };
  }

  private positiveSeconds(path: string, effective: unknown, ctx: unknown, field: string): number {
    const value = readPath(path, effective, ctx, field);
    if (!Number.isInteger(value) || (value as number) <= 0) {
      throw new StatesError('States.Runtime', `${field} '${path}' must point to a positive integer, got ${json(value)}`);
    }
    return value as number;
  }

  private scheduleTask(l: Live, state: TaskState): void {
    const cur = l.rec.current as CurrentState;
    const callback = state.resource.kind === 'lambda-invoke' && state.resource.waitForTaskToken;
    const token = callback ? randomBytes(64).toString('base64url') : undefined;
    const ctx = this.context(l, token);
    const effective = selectPath(state.InputPath, cur.input, ctx, 'InputPath');
    const params = state.Parameters !== undefined ? evaluateTemplate(state.Parameters, effective, ctx) : effective;
    let functionArn: string;
    let payload: unknown;
    if (state.resource.kind === 'lambda-function') {
      functionArn = state.resource.functionArn;
      payload = params;
    } else {
      if (!isObject(params) || typeof params.FunctionName !== 'string') {
        throw new StatesError('States.Runtime', `Parameters.FunctionName must be a string, got ${json(isObject(params) ? params.FunctionName : params)}`);
      }
      functionArn = params.FunctionName;
      payload = Object.hasOwn(params, 'Payload') ? params.Payload : {};
    }
    // TimeoutSecondsPath/HeartbeatSecondsPath are read from the effective input, like a Wait state's SecondsPath.
    const timeoutSeconds =
      state.TimeoutSeconds ?? (state.TimeoutSecondsPath ? this.positiveSeconds(state.TimeoutSecondsPath, effective, ctx, 'TimeoutSecondsPath') : undefined);
    // Only a callback task can send heartbeats, so HeartbeatSeconds is enforced for `.waitForTaskToken` tasks.
    const heartbeatSeconds = callback
      ? (state.HeartbeatSeconds ??
        (state.HeartbeatSecondsPath ? this.positiveSeconds(state.HeartbeatSecondsPath, effective, ctx, 'HeartbeatSecondsPath') : undefined))
      : undefined;
    const now = Date.now();
    cur.phase = {
      kind: 'task',
      id: randomUUID(),
      functionArn,
      payload,
      ...(token ? { token } : {}),
      invoked: false,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds, timeoutAt: now + timeoutSeconds * 1000 } : {}),
      ...(heartbeatSeconds !== undefined ? { heartbeatSeconds, heartbeatAt: now + heartbeatSeconds * 1000 } : {}),
    };
    if (token) {
      l.rec.tokens[token] = 'open';
      this.tokenIndex.set(token, l.rec.executionArn);
    }
    if (state.resource.kind === 'lambda-function') {
      this.event(l, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource: functionArn,
          input: json(payload),
          inputDetails: { truncated: false },
          timeoutInSeconds: timeoutSeconds,
        },
      });
      this.event(l, 'LambdaFunctionStarted');
    } else {
      const info = this.resourceInfo(state);
      this.event(l, 'TaskScheduled', {
        taskScheduledEventDetails: {
          ...info,
          region: this.region,
          parameters: json(params),
          timeoutInSeconds: timeoutSeconds,
          heartbeatInSeconds: heartbeatSeconds,
        },
      });
      this.event(l, 'TaskStarted', { taskStartedEventDetails: info });
    }
  }

  private taskSucceeded(l: Live, result: unknown): void {
    const cur = l.rec.current as CurrentState;
    const phase = cur.phase;
    const token = phase.kind === 'task' ? phase.token : undefined;
    this.closeToken(l);
    l.inflight = undefined;
    try {
      const state = this.state(l) as TaskState;
      if (state.resource.kind === 'lambda-function') {
        this.event(l, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: json(result), outputDetails: { truncated: false } } });
      } else {
        this.event(l, 'TaskSucceeded', {
          taskSucceededEventDetails: { ...this.resourceInfo(state), output: json(result), outputDetails: { truncated: false } },
        });
      }
      const ctx = this.context(l, token);
      const selected = state.ResultSelector !== undefined ? evaluateTemplate(state.ResultSelector, result, ctx) : result;
      const output = selectPath(state.OutputPath, applyResultPath(state.ResultPath, cur.input, selected), ctx, 'OutputPath');
      cur.phase = { kind: 'ready' };
      this.exitState(l, state, output);
    } catch (err) {
      this.failFromError(l, err);
    }
    this.advance(l);
  }

  private taskFailed(l: Live, failure: StatesError, timedOut: boolean): void {
    this.closeToken(l);
    l.inflight = undefined;
    try {
      const state = this.state(l) as TaskState;
      const details = { error: failure.error || undefined, cause: failure.causeText };
      if (state.resource.kind === 'lambda-function') {
        this.event(l, timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', {
          [timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails']: details,
        });
      } else {
        this.event(l, timedOut ? 'TaskTimedOut' : 'TaskFailed', {
          [timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: { ...this.resourceInfo(state), ...details },
        });
      }
      this.handleError(l, state, failure.error, failure.causeText);
    } catch (err) {
      this.failFromError(l, err);
    }
    this.advance(l);
  }

  /** Retry (first retrier whose ErrorEquals matches), else Catch (first matching catcher), else the execution fails. */
  private handleError(l: Live, state: TaskState, error: string, cause: string | undefined): void {
    const cur = l.rec.current as CurrentState;
    const r = state.Retry.findIndex((retrier) => errorMatches(retrier.ErrorEquals, error));
    const retrier = state.Retry[r];
    if (retrier) {
      const used = cur.retrierAttempts[r] ?? 0;
      if (used < retrier.MaxAttempts) {
        let delay = retrier.IntervalSeconds * retrier.BackoffRate ** used;
        if (retrier.MaxDelaySeconds !== undefined) delay = Math.min(delay, retrier.MaxDelaySeconds);
        if (retrier.JitterStrategy === 'FULL') delay = Math.random() * delay;
        delay *= this.retryDelayScale;
        cur.retrierAttempts[r] = used + 1;
        cur.phase = { kind: 'backoff', until: Date.now() + delay * 1000 };
        return;
      }
    }
    const catcher = state.Catch.find((c) => errorMatches(c.ErrorEquals, error));
    if (catcher) {
      const errorOutput = { ...(error ? { Error: error } : {}), ...(cause !== undefined ? { Cause: cause } : {}) };
      const output = applyResultPath(catcher.ResultPath, cur.input, errorOutput);
      cur.phase = { kind: 'ready' };
      this.event(l, 'TaskStateExited', { stateExitedEventDetails: { name: cur.name, output: json(output), outputDetails: { truncated: false } } });
      return this.enterState(l, catcher.Next, output);
    }
    this.fail(l, error, cause);
  }

  // ---- endings ----------------------------------------------------------------------------------------------------

  private failFromError(l: Live, err: unknown): void {
    if (l.rec.status !== 'RUNNING') return;
    const where = l.rec.current ? `An error occurred while executing the state '${l.rec.current.name}'. ` : '';
    if (err instanceof StatesError) return this.fail(l, err.error, `${where}${err.causeText ?? ''}`);
    console.error('[local sfn] internal error in an execution:', err);
    this.fail(l, 'States.Runtime', `${where}${err instanceof Error ? err.message : String(err)}`);
  }

  private fail(l: Live, error: string | undefined, cause: string | undefined): void {
    this.closeToken(l);
    this.event(l, 'ExecutionFailed', { executionFailedEventDetails: { error: error || undefined, cause } });
    this.finish(l, 'FAILED', { error: error || undefined, cause });
  }

  private succeed(l: Live, output: unknown): void {
    const text = json(output);
    this.event(l, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: text, outputDetails: { truncated: false } } });
    this.finish(l, 'SUCCEEDED', { output: text });
  }

  private finish(l: Live, status: ExecutionStatus, fields: { output?: string; error?: string; cause?: string }): void {
    const { rec } = l;
    rec.status = status;
    rec.stopDate = Date.now();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (rec as unknown as Record<string, unknown>)[k] = v;
    for (const token of Object.keys(rec.tokens)) rec.tokens[token] = 'closed';
    delete rec.current;
    delete rec.timeoutAt;
    l.inflight = undefined;
    if (l.timer) clearTimeout(l.timer);
    l.timer = undefined;
    if (!this.closed) this.save(l);
    const set = this.waiters.get(rec.executionArn);
    this.waiters.delete(rec.executionArn);
    for (const w of set ?? []) w();
  }

  private event(l: Live, type: string, details: Record<string, unknown> = {}): void {
    const id = l.rec.events.length + 1;
    l.rec.events.push({ timestamp: Date.now(), type, id, previousEventId: id - 1, ...details });
  }

  private save(l: Live): void {
    const file = createHash('sha256').update(l.rec.executionArn).digest('hex');
    writeJsonAtomic(join(this.dir, `${file}.json`), l.rec);
  }
}
