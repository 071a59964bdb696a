/**
 * The Step Functions API (awsJson1_0, `X-Amz-Target: AWSStepFunctions.<Operation>`) over the execution engine,
 * answering the real SDK v3 SFNClient with AWS's field names, error types and idempotency rules.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import { AwsServiceError, awsJsonHandler, closeServer, createServer, listenLoopback, parseInput } from '../aws-json';
import { readJsonDir, writeJsonAtomic } from '../file-store';
import { validateDefinition } from './asl';
import { ExecutionEngine, type ExecutionRecord, type LambdaInvoker } from './engine';

export interface LocalStepFunctionsOptions {
  /** Executions and state machines persist under `${dataDir}/sfn/`. */
  readonly dataDir: string;
  readonly invokeLambda: LambdaInvoker;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /**
   * Scales the backoff between Retry attempts (0.1: a tenth of the definition's intervals), so failure handling runs
   * through its retries in less time. Timeouts and Wait states are never scaled: they carry deadlines. @default 1
   */
  readonly retryDelayScale?: number;
}

interface StateMachineRecord {
  version: 1;
  stateMachineArn: string;
  name: string;
  definition: string;
  roleArn: string;
  creationDate: number;
  updateDate?: number;
  revisionId: string;
}

/** State input/output and SendTaskSuccess output quota: 256 KiB of UTF-8. */
const PAYLOAD_LIMIT = 256 * 1024;
/** AWS: names must not contain whitespace, brackets, wildcards, these specials, or control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are among those a name may not contain
const BAD_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;
const SM_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
const EXEC_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

const Name = z.string().min(1).max(80);
const ArnString = z.string().min(1).max(2048);
const MaxResults = z.number().int().min(0).max(1000).optional();
const NextToken = z.string().min(1).max(1024).optional();

const CreateStateMachineInput = z.object({
  name: Name,
  definition: z
    .string()
    .min(1)
    .max(1024 * 1024),
  roleArn: z.string().min(1).max(256),
  type: z.enum(['STANDARD', 'EXPRESS']).optional(),
});
const UpdateStateMachineInput = z.object({
  stateMachineArn: ArnString,
  definition: z
    .string()
    .min(1)
    .max(1024 * 1024)
    .optional(),
  roleArn: z.string().min(1).max(256).optional(),
});
const StateMachineArnInput = z.object({ stateMachineArn: ArnString });
const ListInput = z.object({ maxResults: MaxResults, nextToken: NextToken });
const StartExecutionInput = z.object({
  stateMachineArn: ArnString,
  name: Name.optional(),
  input: z.string().optional(),
  traceHeader: z.string().max(256).optional(),
});
const ExecutionArnInput = z.object({ executionArn: ArnString });
const ListExecutionsInput = z.object({
  stateMachineArn: ArnString,
  statusFilter: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']).optional(),
  maxResults: MaxResults,
  nextToken: NextToken,
});
const GetExecutionHistoryInput = z.object({
  executionArn: ArnString,
  maxResults: MaxResults,
  reverseOrder: z.boolean().optional(),
  nextToken: NextToken,
  includeExecutionData: z.boolean().optional(),
});
const StopExecutionInput = z.object({
  executionArn: ArnString,
  error: z.string().max(256).optional(),
  cause: z.string().max(32768).optional(),
});
// Token length is not bounded here: a malformed token answers InvalidToken, as AWS does, not a ValidationException.
const TaskToken = z.string().min(1);
const SendTaskSuccessInput = z.object({ taskToken: TaskToken, output: z.string() });
const SendTaskFailureInput = z.object({ taskToken: TaskToken, error: z.string().max(256).optional(), cause: z.string().max(32768).optional() });
const SendTaskHeartbeatInput = z.object({ taskToken: TaskToken });

const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

function checkName(name: string): void {
  if (BAD_NAME.test(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
}

function checkArn(arn: string, pattern: RegExp): void {
  if (!pattern.test(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
}

function page<T>(items: readonly T[], maxResults: number | undefined, nextToken: string | undefined): { items: T[]; nextToken?: string } {
  let offset = 0;
  if (nextToken !== undefined) {
    offset = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw new AwsServiceError('InvalidToken', `Invalid Token: '${nextToken}'`);
  }
  const size = maxResults || 100;
  const slice = items.slice(offset, offset + size);
  const next = offset + size < items.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined;
  return { items: slice, ...(next ? { nextToken: next } : {}) };
}

function parsePayload(text: string, errorType: string, what: string): unknown {
  if (Buffer.byteLength(text, 'utf8') > PAYLOAD_LIMIT) {
    throw new AwsServiceError(errorType, `Invalid ${what}: the ${what} exceeds the maximum size of ${PAYLOAD_LIMIT} bytes`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AwsServiceError(errorType, `Invalid ${what}: the ${what} is not valid JSON`);
  }
}

export class LocalStepFunctions {
  /** awsJson1_0 request listener, X-Amz-Target: AWSStepFunctions.<Op> */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;

  private readonly region: string;
  private readonly accountId: string;
  private readonly machinesDir: string;
  private readonly engine: ExecutionEngine;
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly servers = new Set<Server>();
  private starting?: Promise<void>;
  private closed = false;

  constructor(options: LocalStepFunctionsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.machinesDir = join(options.dataDir, 'sfn', 'state-machines');
    this.engine = new ExecutionEngine(join(options.dataDir, 'sfn', 'executions'), options.invokeLambda, this.region, options.retryDelayScale ?? 1);
    const op =
      <T>(fn: (input: unknown) => T) =>
      async (input: unknown): Promise<T> => {
        await this.start();
        if (this.closed) throw new AwsServiceError('ServiceUnavailable', 'local Step Functions is closed', 503);
        return fn(input);
      };
    this.handler = awsJsonHandler({
      targetPrefix: 'AWSStepFunctions',
      contentType: 'application/x-amz-json-1.0',
      // A 1 MiB definition or a 256 KiB output grows when escaped inside the JSON request.
      maxBodyBytes: 8 * 1024 * 1024,
      operations: {
        CreateStateMachine: op((i) => this.createStateMachine(i)),
        UpdateStateMachine: op((i) => this.updateStateMachine(i)),
        DescribeStateMachine: op((i) => this.describeStateMachine(i)),
        ListStateMachines: op((i) => this.listStateMachines(i)),
        StartExecution: op((i) => this.startExecution(i)),
        DescribeExecution: op((i) => this.describeExecution(i)),
        ListExecutions: op((i) => this.listExecutions(i)),
        GetExecutionHistory: op((i) => this.getExecutionHistory(i)),
        StopExecution: op((i) => this.stopExecution(i)),
        SendTaskSuccess: op((i) => this.sendTaskSuccess(i)),
        SendTaskFailure: op((i) => this.sendTaskFailure(i)),
        SendTaskHeartbeat: op((i) => this.sendTaskHeartbeat(i)),
      },
    });
  }

  /** Loads persisted state machines and executions and resumes running ones (timers re-armed at their ORIGINAL absolute deadlines; overdue ones fire at once). Call before serving. */
  start(): Promise<void> {
    this.starting ??= Promise.resolve().then(() => {
      for (const sm of readJsonDir<StateMachineRecord>(this.machinesDir)) this.machines.set(sm.stateMachineArn, sm);
      this.engine.load();
    });
    return this.starting;
  }

  /** Listens on 127.0.0.1 and resolves the base URL; calls start() if not yet. */
  async listen(port = 0): Promise<string> {
    await this.start();
    const server = createServer(this.handler);
    this.servers.add(server);
    return listenLoopback(server, port);
  }

  /** Stops timers and servers; in-flight work is left persisted so a new instance resumes it. */
  async close(): Promise<void> {
    this.closed = true;
    this.engine.close();
    await Promise.all([...this.servers].map((s) => closeServer(s)));
    this.servers.clear();
  }

  /** Resolves when the execution is no longer RUNNING (for tests and the runtime). */
  async waitForExecution(executionArn: string, timeoutMs = 60_000): Promise<{ status: string; output?: string; error?: string; cause?: string }> {
    await this.start();
    return this.engine.waitFor(executionArn, timeoutMs);
  }

  // ---- state machines ---------------------------------------------------------------------------------------------

  private checkDefinition(definition: string): void {
    const result = validateDefinition(definition);
    if (!result.ok) throw new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: ${result.problems.join('; ')}`);
  }

  private machine(arn: string): StateMachineRecord {
    checkArn(arn, SM_ARN);
    const sm = this.machines.get(arn);
    if (!sm) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return sm;
  }

  private saveMachine(sm: StateMachineRecord): void {
    writeJsonAtomic(join(this.machinesDir, `${createHash('sha256').update(sm.stateMachineArn).digest('hex')}.json`), sm);
  }

  private createStateMachine(raw: unknown): unknown {
    const input = parseInput(CreateStateMachineInput, raw);
    checkName(input.name);
    if (input.type === 'EXPRESS') {
      throw new AwsServiceError('StateMachineTypeNotSupported', 'local Step Functions runs Standard workflows only; EXPRESS is not supported');
    }
    this.checkDefinition(input.definition);
    const arn = `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${input.name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      // Idempotent as on AWS: same name and definition returns the existing machine (a different roleArn is ignored).
      if (existing.definition === input.definition) return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
      throw new AwsServiceError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const sm: StateMachineRecord = {
      version: 1,
      stateMachineArn: arn,
      name: input.name,
      definition: input.definition,
      roleArn: input.roleArn,
      creationDate: Date.now(),
      revisionId: randomUUID(),
    };
    this.saveMachine(sm);
    this.machines.set(arn, sm);
    return { stateMachineArn: arn, creationDate: seconds(sm.creationDate) };
  }

  private updateStateMachine(raw: unknown): unknown {
    const input = parseInput(UpdateStateMachineInput, raw);
    const sm = this.machine(input.stateMachineArn);
    if (input.definition === undefined && input.roleArn === undefined) {
      throw new AwsServiceError('MissingRequiredParameter', 'UpdateStateMachine needs a definition or a roleArn');
    }
    if (input.definition !== undefined) this.checkDefinition(input.definition);
    // Running executions keep the definition they started with (it is stored in each execution).
    const updated: StateMachineRecord = {
      ...sm,
      definition: input.definition ?? sm.definition,
      roleArn: input.roleArn ?? sm.roleArn,
      updateDate: Date.now(),
      revisionId: randomUUID(),
    };
    this.saveMachine(updated);
    this.machines.set(sm.stateMachineArn, updated);
    return { updateDate: seconds(updated.updateDate), revisionId: updated.revisionId };
  }

  private describeStateMachine(raw: unknown): unknown {
    const sm = this.machine(parseInput(StateMachineArnInput, raw).stateMachineArn);
    return {
      stateMachineArn: sm.stateMachineArn,
      name: sm.name,
      status: 'ACTIVE',
      definition: sm.definition,
      roleArn: sm.roleArn,
      type: 'STANDARD',
      creationDate: seconds(sm.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
      revisionId: sm.revisionId,
    };
  }

  private listStateMachines(raw: unknown): unknown {
    const input = parseInput(ListInput, raw);
    const all = [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
    const { items, nextToken } = page(all, input.maxResults, input.nextToken);
    return {
      stateMachines: items.map((sm) => ({ stateMachineArn: sm.stateMachineArn, name: sm.name, type: 'STANDARD', creationDate: seconds(sm.creationDate) })),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  // ---- executions -------------------------------------------------------------------------------------------------

  private execution(arn: string): ExecutionRecord {
    checkArn(arn, EXEC_ARN);
    const rec = this.engine.get(arn);
    if (!rec) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return rec;
  }

  private startExecution(raw: unknown): unknown {
    const input = parseInput(StartExecutionInput, raw);
    const sm = this.machine(input.stateMachineArn);
    const name = input.name ?? randomUUID();
    checkName(name);
    const text = input.input ?? '{}';
    parsePayload(text, 'InvalidExecutionInput', 'execution input');
    const executionArn = `arn:aws:states:${this.region}:${this.accountId}:execution:${sm.name}:${name}`;
    const existing = this.engine.get(executionArn);
    if (existing) {
      // AWS: same name and input while the execution is open answers the original; otherwise the name is taken.
      if (existing.status === 'RUNNING' && existing.input === text) return { executionArn, startDate: seconds(existing.startDate) };
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const rec = this.engine.start({
      executionArn,
      stateMachineArn: sm.stateMachineArn,
      stateMachineName: sm.name,
      name,
      roleArn: sm.roleArn,
      definition: sm.definition,
      input: text,
    });
    return { executionArn, startDate: seconds(rec.startDate) };
  }

  private describeExecution(raw: unknown): unknown {
    const rec = this.execution(parseInput(ExecutionArnInput, raw).executionArn);
    return {
      executionArn: rec.executionArn,
      stateMachineArn: rec.stateMachineArn,
      name: rec.name,
      status: rec.status,
      startDate: seconds(rec.startDate),
      stopDate: seconds(rec.stopDate),
      input: rec.input,
      inputDetails: { included: true },
      output: rec.output,
      ...(rec.output !== undefined ? { outputDetails: { included: true } } : {}),
      error: rec.error,
      cause: rec.cause,
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  private listExecutions(raw: unknown): unknown {
    const input = parseInput(ListExecutionsInput, raw);
    const sm = this.machine(input.stateMachineArn);
    const all = this.engine
      .list()
      .filter((e) => e.stateMachineArn === sm.stateMachineArn && (!input.statusFilter || e.status === input.statusFilter))
      .sort((a, b) => b.startDate - a.startDate);
    const { items, nextToken } = page(all, input.maxResults, input.nextToken);
    return {
      executions: items.map((e) => ({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: seconds(e.startDate),
        stopDate: seconds(e.stopDate),
      })),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  private getExecutionHistory(raw: unknown): unknown {
    const input = parseInput(GetExecutionHistoryInput, raw);
    const rec = this.execution(input.executionArn);
    const events = input.reverseOrder ? [...rec.events].reverse() : rec.events;
    const { items, nextToken } = page(events, input.maxResults, input.nextToken);
    return { events: items.map((e) => ({ ...e, timestamp: seconds(e.timestamp) })), ...(nextToken ? { nextToken } : {}) };
  }

  private stopExecution(raw: unknown): unknown {
    const input = parseInput(StopExecutionInput, raw);
    const rec = this.execution(input.executionArn);
    this.engine.stop(rec.executionArn, input.error, input.cause);
    return { stopDate: seconds(rec.stopDate ?? Date.now()) };
  }

  // ---- task tokens ------------------------------------------------------------------------------------------------

  private sendTaskSuccess(raw: unknown): unknown {
    const input = parseInput(SendTaskSuccessInput, raw);
    const output = parsePayload(input.output, 'InvalidOutput', 'output');
    this.engine.sendTaskSuccess(input.taskToken, output);
    return {};
  }

  private sendTaskFailure(raw: unknown): unknown {
    const input = parseInput(SendTaskFailureInput, raw);
    this.engine.sendTaskFailure(input.taskToken, input.error, input.cause);
    return {};
  }

  private sendTaskHeartbeat(raw: unknown): unknown {
    const input = parseInput(SendTaskHeartbeatInput, raw);
    this.engine.sendTaskHeartbeat(input.taskToken);
    return {};
  }
}
