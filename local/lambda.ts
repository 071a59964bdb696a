/**
 * Lambda's execution model for local mode. Each function runs in execution environments of its own: a child process
 * per environment (./lambda-bootstrap.cjs) holding the function's code (the bundle the stack builds, or its
 * TypeScript source), with exactly the environment variables local mode computes for it and nothing inherited. An
 * environment serves one invocation at a time and stays warm for the next; overlapping invocations get more
 * environments. The template's rules hold:
 *
 * - `Timeout`: an invocation still running at its deadline is ended (its environment is killed) and answers the
 *   function error Lambda answers, `Sandbox.Timedout` ("RequestId: … Error: Task timed out after N.00 seconds");
 * - `ReservedConcurrentExecutions`: an invocation beyond that many running at once is throttled, as Lambda throttles
 *   a synchronous invocation: `TooManyRequestsException` (429, "Rate Exceeded.");
 * - the handler gets a Lambda context whose `getRemainingTimeInMillis()` counts down from the timeout.
 *
 * What an environment prints on stdout goes, line by line, to the `stdout` reader when one is given (local mode reads
 * the functions' embedded metric format lines there: ./metrics.ts), which relays it; stderr is inherited.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './cfn';
import type { LambdaInvoker } from './sfn/engine';
import { StatesError } from './sfn/errors';

export interface LocalFunctionSpec {
  /** The function's name; local mode names each function by its logical id. */
  readonly name: string;
  /** The file holding the handler (a CommonJS bundle, or a `.ts` source run through tsx) and its export. */
  readonly code: { readonly file: string; readonly handler: string };
  /** The template's `Timeout`, in seconds. */
  readonly timeoutSeconds: number;
  /** The template's `MemorySize`, in MB. */
  readonly memorySize: number;
  /** The template's `ReservedConcurrentExecutions`, when it has one. */
  readonly reservedConcurrency?: number;
  /** The whole environment of the function's processes: nothing else is inherited. */
  readonly environment: Readonly<Record<string, string>>;
  /** Working directory of its processes (Lambda's is the code's folder, /var/task). */
  readonly cwd: string;
  /** Node.js options of its processes beyond the environment's NODE_OPTIONS (tsx, for sources). @default none */
  readonly execArgv?: readonly string[];
}

/**
 * An invocation that failed in the function (Lambda's `X-Amz-Function-Error: Unhandled`): the handler threw, the
 * environment failed to start, or it timed out (`Sandbox.Timedout`). `name` is the payload's `errorType`.
 */
export class FunctionError extends Error {
  constructor(
    readonly errorType: string,
    errorMessage: string,
    readonly trace: readonly string[] = [],
  ) {
    super(errorMessage);
    this.name = errorType;
  }

  /** The error payload Lambda answers. */
  get payload(): { errorType: string; errorMessage: string; trace?: readonly string[] } {
    return { errorType: this.errorType, errorMessage: this.message, ...(this.trace.length ? { trace: this.trace } : {}) };
  }
}

/** Lambda refused the invocation: the function's reserved concurrency is in use (HTTP 429). */
export class TooManyRequestsException extends Error {
  readonly status = 429;
  readonly reason = 'ReservedFunctionConcurrentInvocationLimitExceeded';
  constructor(readonly functionName: string) {
    super('Rate Exceeded.');
    this.name = 'TooManyRequestsException';
  }
}

/** How long a new environment may take to load its code. Lambda allows 10 s; a busy laptop is given more. */
const INIT_LIMIT_MS = 60_000;
/** An idle environment beyond a function's first is stopped after this long, as Lambda reclaims idle ones. */
const IDLE_MS = 60_000;

const BOOTSTRAP = join(import.meta.dirname, 'lambda-bootstrap.cjs');

type Message =
  | { t: 'ready' }
  | { t: 'init-error'; errorType: string; errorMessage: string; trace?: string[] }
  | { t: 'done'; id: string; ok: true; result: unknown }
  | { t: 'done'; id: string; ok: false; errorType: string; errorMessage: string; trace?: string[] };

/** One execution environment: a process running one function's code, one invocation at a time. */
class Environment {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly generation: number;
  exited = false;
  /** Killed (or its start failed): never handed another invocation, though its `exit` event may not have come yet. */
  dead = false;
  private pending: { id: string; resolve(value: unknown): void; reject(err: Error): void } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: LocalFunctionSpec,
    generation: number,
    private readonly onExit: (env: Environment) => void,
    stdout?: StdoutReader,
  ) {
    this.generation = generation;
    this.process = fork(BOOTSTRAP, [spec.code.file, spec.code.handler], {
      cwd: spec.cwd,
      env: { ...spec.environment },
      execArgv: [...(spec.execArgv ?? [])],
      stdio: ['ignore', stdout ? 'pipe' : 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    if (stdout && this.process.stdout) {
      createInterface({ input: this.process.stdout, crlfDelay: Infinity }).on('line', (line) => stdout(spec.name, line));
    }
    // A send to a process that just died emits `error` here; its `exit` settles whatever was waiting.
    this.process.on('error', () => {});
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new FunctionError('Runtime.InitTimeout', `the function's code did not load within ${INIT_LIMIT_MS / 1000} s`));
        this.kill();
      }, INIT_LIMIT_MS);
      const onMessage = (message: Message) => {
        if (message.t === 'ready') resolve();
        else if (message.t === 'init-error') reject(new FunctionError(message.errorType, message.errorMessage, message.trace));
        else return;
        clearTimeout(timer);
        this.process.off('message', onMessage);
      };
      this.process.on('message', onMessage);
      this.process.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new FunctionError('Runtime.ExitError', `Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`));
      });
    });
    // A failed init is reported by the invocation that waits for it.
    this.ready.catch(() => this.kill());
    this.process.on('message', (message: Message) => {
      if (message.t !== 'done' || !this.pending || message.id !== this.pending.id) return;
      const { resolve, reject } = this.pending;
      this.pending = undefined;
      if (message.ok) resolve(message.result);
      else reject(new FunctionError(message.errorType, message.errorMessage, message.trace));
    });
    this.process.once('exit', (code, signal) => {
      this.exited = true;
      clearTimeout(this.idleTimer);
      if (this.pending) {
        const { id, reject } = this.pending;
        this.pending = undefined;
        reject(
          new FunctionError('Runtime.ExitError', `RequestId: ${id} Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`),
        );
      }
      this.onExit(this);
    });
  }

  /** Runs one invocation; ends the environment if it is still running at the function's timeout. */
  async invoke(event: unknown, requestId: string): Promise<unknown> {
    clearTimeout(this.idleTimer);
    await this.ready;
    const { spec } = this;
    const timeoutMs = spec.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.kill();
        reject(new FunctionError('Sandbox.Timedout', `RequestId: ${requestId} Error: Task timed out after ${spec.timeoutSeconds.toFixed(2)} seconds`));
      }, timeoutMs);
      this.pending = {
        id: requestId,
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
      this.process.send({
        t: 'invoke',
        id: requestId,
        event,
        context: {
          deadline,
          functionName: spec.name,
          functionVersion: '$LATEST',
          invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${spec.name}`,
          memoryLimitInMB: String(spec.memorySize),
          awsRequestId: requestId,
          logGroupName: `/aws/lambda/${spec.name}`,
          logStreamName: `local/[$LATEST]${this.process.pid ?? ''}`,
        },
      });
    });
  }

  idleFor(ms: number, stop: () => void): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(stop, ms);
    this.idleTimer.unref();
  }

  kill(): void {
    clearTimeout(this.idleTimer);
    this.dead = true;
    if (!this.exited) this.process.kill('SIGKILL');
  }
}

/** Reads each line a function's environment prints on stdout (and relays it). */
export type StdoutReader = (functionName: string, line: string) => void;

/** One function: its spec, its warm environments and how many invocations run now. */
class FunctionPool {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private running = 0;
  private generation = 0;

  constructor(
    private spec: LocalFunctionSpec,
    private readonly stdout?: StdoutReader,
  ) {}

  async invoke(event: unknown): Promise<unknown> {
    const { reservedConcurrency } = this.spec;
    if (reservedConcurrency !== undefined && this.running >= reservedConcurrency) throw new TooManyRequestsException(this.spec.name);
    this.running += 1;
    const requestId = randomUUID();
    let env: Environment | undefined;
    try {
      do env = this.idle.pop();
      while (env?.dead);
      env ??= this.spawn();
      return await env.invoke(event, requestId);
    } finally {
      this.running -= 1;
      if (env) this.release(env);
    }
  }

  /** New invocations run the new spec (code or environment); environments of the old one end once idle. */
  update(spec: LocalFunctionSpec): void {
    this.spec = spec;
    this.generation += 1;
    for (const env of this.idle.splice(0)) env.kill();
  }

  prewarm(): void {
    if (this.all.size === 0) this.idle.push(this.spawn());
  }

  /** How many environments it has now (running or warm). */
  get environments(): number {
    return this.all.size;
  }

  close(): void {
    this.idle.length = 0;
    for (const env of this.all) env.kill();
  }

  private spawn(): Environment {
    const env = new Environment(
      this.spec,
      this.generation,
      (gone) => {
        this.all.delete(gone);
        const at = this.idle.indexOf(gone);
        if (at >= 0) this.idle.splice(at, 1);
      },
      this.stdout,
    );
    this.all.add(env);
    return env;
  }

  private release(env: Environment): void {
    if (env.exited || env.dead) return;
    if (env.generation !== this.generation) return env.kill();
    this.idle.push(env);
    // Like Lambda, idle environments are reclaimed; one stays warm.
    env.idleFor(IDLE_MS, () => {
      if (this.all.size > 1 && this.idle.includes(env)) env.kill();
    });
  }
}

/** The functions of local mode, each in its own execution environments. */
export class LocalFunctions {
  private readonly pools = new Map<string, FunctionPool>();
  private closed = false;

  constructor(specs: Iterable<LocalFunctionSpec>, options: { readonly stdout?: StdoutReader } = {}) {
    for (const spec of specs) this.pools.set(spec.name, new FunctionPool(spec, options.stdout));
  }

  get names(): string[] {
    return [...this.pools.keys()];
  }

  /**
   * Invokes a function synchronously (RequestResponse): resolves its result, or rejects with a FunctionError (the
   * function failed or timed out) or a TooManyRequestsException (throttled).
   */
  invoke(name: string, event: unknown): Promise<unknown> {
    const pool = this.pools.get(name);
    if (!pool) return Promise.reject(new Error(`local mode has no function ${name}`));
    if (this.closed) return Promise.reject(new Error('local mode is stopping'));
    // Lambda hands the function the JSON of the event.
    return pool.invoke(JSON.parse(JSON.stringify(event ?? null)) as unknown);
  }

  /** Starts one environment per function now, so the first calls find it warm. A failed start shows on invocation. */
  prewarm(): void {
    for (const pool of this.pools.values()) pool.prewarm();
  }

  update(specs: Iterable<LocalFunctionSpec>): void {
    for (const spec of specs) this.pools.get(spec.name)?.update(spec);
  }

  environments(name: string): number {
    return this.pools.get(name)?.environments ?? 0;
  }

  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
  }
}

/**
 * An invoker for the Step Functions endpoint, answering as the `lambda:invoke` integration sees Lambda: a function
 * error keeps its errorType (`Sandbox.Timedout` for a timeout) and payload, which the engine makes the error and cause
 * Retry and Catch match (States.TaskFailed and States.ALL cover both); a throttle is Lambda's service error
 * `Lambda.TooManyRequestsException`, its cause the service's message.
 */
export function stepFunctionsInvoker(invoke: (functionName: string, payload: unknown) => Promise<unknown>, nameOfArn: (arn: string) => string): LambdaInvoker {
  return (arn, payload) =>
    invoke(nameOfArn(arn), payload).catch((err: unknown) => {
      if (!(err instanceof TooManyRequestsException)) throw err;
      throw new StatesError(
        'Lambda.TooManyRequestsException',
        `Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: ${randomUUID()}; Proxy: null)`,
      );
    });
}
