import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { LogLevel } from '../lambdas/adapters/environment';
import { FUNCTION_ENV } from '../lambdas/adapters/environment';
import type { CallbackNetwork } from '../lambdas/core/callback';
import { alarmEmails, assertDeployableSecrets, type Config } from '../lambdas/core/config';
import { LEASES } from '../lambdas/core/lease';
import { ApprovalWorkflow } from './approval-workflow';
import { AuditLedger } from './audit-ledger';
import { bundleDefines } from './bundling';
import { CountersignFunction } from './countersign-function';
import { IntakeApi } from './intake-api';
import { CountersignOperations } from './operations';
import { RequestStore } from './request-store';
import { ReviewTokenKey } from './review-token-key';

export interface CountersignProps {
  /** The validated policy (see `loadConfigFile`). It ships inside the functions' bundles. */
  readonly config: Config;
  /** For the tables and keys when the stack is deleted. @default RemovalPolicy.RETAIN: audit data outlives stacks */
  readonly removalPolicy?: RemovalPolicy;
  /** Retention of every log group. @default one year */
  readonly logRetention?: RetentionDays;
  /**
   * The least severe level every function logs (README "Logs"): TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL or SILENT.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * The share of invocations, 0 to 1, whose lines every function logs at DEBUG whatever `logLevel` says (Powertools'
   * debug sampling, decided per invocation): 0.1 shows one invocation in ten in detail. @default 0: none
   */
  readonly logSampleRate?: number;
  /** API steady-state rate limit, requests/s. @default 100 */
  readonly throttlingRateLimit?: number;
  /** API burst limit. @default 200 */
  readonly throttlingBurstLimit?: number;
  /** How often a signed checkpoint seals the ledger (whole minutes). @default Duration.minutes(5) */
  readonly checkpointInterval?: Duration;
  /**
   * A ledger record is written within this long of its `at` time, or re-stamped: it bounds how late a record can
   * land in a time slot a checkpoint already covers. Whole seconds. @default Duration.seconds(10)
   */
  readonly ledgerWriteWindow?: Duration;
  /**
   * A checkpoint covers records up to this long ago. It must exceed the write window plus the `bySlot` index's
   * propagation delay, so no record can still appear in a slot once a checkpoint sealed it. Whole seconds.
   * @default Duration.seconds(60)
   */
  readonly checkpointSettle?: Duration;
  /** How often the repair job completes half-done requests (whole minutes). @default Duration.minutes(1) */
  readonly repairInterval?: Duration;
  /** The repair job leaves younger pending requests to the call in flight. Whole seconds. @default Duration.seconds(60) */
  readonly repairGrace?: Duration;
  /**
   * Accept `env:NAME` secret references (Slack, Teams, OIDC). Only local mode sets those variables, so a deployment
   * refuses them, naming each field: write a Secrets Manager secret ARN instead. @default false
   */
  readonly allowEnvironmentSecrets?: boolean;
}

/** The functions of Countersign, by role. */
export interface CountersignFunctions {
  readonly intake: CountersignFunction;
  readonly notifier: CountersignFunction;
  readonly decision: CountersignFunction;
  readonly finalizer: CountersignFunction;
  /** Seals the ledger with signed checkpoints, on a schedule. */
  readonly checkpointer: CountersignFunction;
  /** Completes what a failure cut short (an unstarted workflow, an untold outcome, a missed expiry), on a schedule. */
  readonly repairer: CountersignFunction;
  /** Serves the console (`/console`): the approver's inbox and decisions, the auditor's search, charts, verify and export. */
  readonly console: CountersignFunction;
}

/** The environment each function reads: one declaration, which the functions read through (lambdas/adapters/environment.ts). */
export { FUNCTION_ENV };

/**
 * Each function's timeout, sized to the longest its code can wait (the infrastructure tests check each against the
 * waits the handlers export):
 * - intake, decision and console answer API Gateway, which waits `API_INTEGRATION_TIMEOUT` (29 s): they time out 4 s before
 *   it, room for a cold start. Intake fits a whole `?wait=20` long-poll and the margin kept to answer after it;
 *   decision fits an OIDC sign-in (three identity-provider calls of 5 s) and a delivery.
 * - the notifier fits every send at its worst (three tries of 5 s with waits between) and then the `notified` record,
 *   so a slow channel can never time it out into a retried Notify that asks every approver again.
 * - the finalizer fits the requester's Slack DMs and the callback (5 s each) beside recording the outcome.
 * - the checkpointer and the repair job run under their schedules' cadence (five minutes, one minute).
 */
export const FUNCTION_TIMEOUTS = {
  intake: Duration.seconds(25),
  decision: Duration.seconds(25),
  notifier: Duration.seconds(40),
  finalizer: Duration.seconds(30),
  checkpointer: Duration.minutes(4),
  repairer: Duration.seconds(50),
  console: Duration.seconds(25),
} as const satisfies Record<keyof CountersignFunctions, Duration>;

/**
 * The intake function's memory. Most of its billed time is a `?wait` held idle, billed per GB-second; its own work is
 * a few milliseconds of CPU a request (KMS signs, DynamoDB stores), which 256 MB (about a seventh of a vCPU on arm64)
 * runs in tens of milliseconds. Half the default 512 MB halves what a held wait costs (bench/cost.ts).
 */
export const INTAKE_MEMORY_MB = 256;

/**
 * Countersign: the API, the approval workflow, the requests table and the signed audit ledger, wired least-privilege.
 *
 * Email goes through SES as `channels.email.from`, which must be a verified identity (the address, or its domain) in
 * the stack's region; the functions may send only as that identity. In the SES sandbox every recipient must be a
 * verified identity too, and SES checks the sending role's permission on each recipient's identity as well, which
 * this least-privilege grant does not give: approvers outside the sender's identities are not emailed (each send
 * is recorded as failed). Request SES production access before relying on email.
 */
export class Countersign extends Construct {
  readonly api: IntakeApi;
  readonly workflow: ApprovalWorkflow;
  readonly requests: RequestStore;
  readonly ledger: AuditLedger;
  readonly reviewTokenKey: ReviewTokenKey;
  readonly functions: CountersignFunctions;
  /** Runs the checkpointer every `checkpointInterval`. */
  readonly checkpointSchedule: Rule;
  /** Runs the repair job every `repairInterval`. */
  readonly repairSchedule: Rule;
  /** The alarms, their SNS topic (emailed to `operations.alarmEmail`) and the dashboard. */
  readonly operations: CountersignOperations;

  constructor(scope: Construct, id: string, props: CountersignProps) {
    super(scope, id);
    if (!props.allowEnvironmentSecrets) assertDeployableSecrets(props.config, 'the Countersign construct');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const checkpointInterval = props.checkpointInterval ?? Duration.minutes(5);
    const writeWindow = props.ledgerWriteWindow ?? Duration.seconds(10);
    const settle = props.checkpointSettle ?? Duration.seconds(60);
    if (settle.toMilliseconds() <= writeWindow.toMilliseconds()) {
      throw new Error(
        `Countersign: checkpointSettle (${settle.toHumanString()}) must exceed ledgerWriteWindow (${writeWindow.toHumanString()}): ` +
          'a checkpoint would otherwise seal time slots that records can still be written into',
      );
    }
    this.requests = new RequestStore(this, 'Requests', { removalPolicy });
    this.ledger = new AuditLedger(this, 'Ledger', { removalPolicy });
    this.reviewTokenKey = new ReviewTokenKey(this, 'ReviewTokens', { removalPolicy });

    const define = bundleDefines(props.config);
    const fn = (id: string, handlerDir: string, extra: { timeout?: Duration; memorySize?: number } = {}) =>
      new CountersignFunction(this, id, {
        handlerDir,
        define,
        ...extra,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        ...(props.logLevel ? { logLevel: props.logLevel } : {}),
        ...(props.logSampleRate !== undefined ? { logSampleRate: props.logSampleRate } : {}),
      });
    this.functions = {
      intake: fn('Intake', 'intake', { timeout: FUNCTION_TIMEOUTS.intake, memorySize: INTAKE_MEMORY_MB }),
      notifier: fn('Notifier', 'notifier', { timeout: FUNCTION_TIMEOUTS.notifier }),
      decision: fn('Decision', 'decision', { timeout: FUNCTION_TIMEOUTS.decision }),
      finalizer: fn('Finalizer', 'finalize', { timeout: FUNCTION_TIMEOUTS.finalizer }),
      // One run at a time: a checkpoint extends the previous one, so two runs must not race. A lease in the requests
      // table keeps them apart (not reserved concurrency, which an account at the new-account quota of 10 cannot
      // grant, failing the first deploy). Four minutes (inside the five-minute cadence) leave room for the first
      // run's Scan of an existing ledger and for catching up, beyond the 15 s the handler keeps back to finish a
      // checkpoint; a run cut short resumes at the next tick.
      checkpointer: fn('Checkpointer', 'checkpoint', { timeout: FUNCTION_TIMEOUTS.checkpointer, memorySize: 1024 }),
      // Its steps are idempotent; one run at a time (its own lease) keeps it from repeating work within a minute.
      repairer: fn('Repairer', 'repair', { timeout: FUNCTION_TIMEOUTS.repairer }),
      // Reads whole ledgers for search, charts and verify: the CPU of 1 GB keeps a page's work well inside its timeout.
      console: fn('Console', 'console', { timeout: FUNCTION_TIMEOUTS.console, memorySize: 1024 }),
    };
    this.workflow = new ApprovalWorkflow(this, 'Workflow', {
      notifier: this.functions.notifier,
      finalizer: this.functions.finalizer,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.api = new IntakeApi(this, 'Api', {
      intake: this.functions.intake,
      decision: this.functions.decision,
      console: this.functions.console,
      ...(props.throttlingRateLimit ? { throttlingRateLimit: props.throttlingRateLimit } : {}),
      ...(props.throttlingBurstLimit ? { throttlingBurstLimit: props.throttlingBurstLimit } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });

    const { intake, notifier, decision, finalizer, checkpointer, repairer, console } = this.functions;
    for (const f of Object.values(this.functions)) {
      f.addEnvironment(FUNCTION_ENV.ledgerTable, this.ledger.table.tableName);
      f.addEnvironment(FUNCTION_ENV.ledgerKeyId, this.ledger.signingKey.keyArn);
      f.addEnvironment(FUNCTION_ENV.ledgerWriteWindow, String(writeWindow.toSeconds()));
      // Append-only, whatever any function is granted now or later.
      this.ledger.denyTampering(f);
    }
    // The functions that serve requests; the checkpointer reads and writes only the ledger.
    for (const f of [intake, notifier, decision, finalizer, repairer, console]) {
      f.addEnvironment(FUNCTION_ENV.requestsTable, this.requests.table.tableName);
      this.requests.grantReadWrite(f);
      this.ledger.grantAppend(f);
    }
    // The scheduled functions' leases live in the requests table; the checkpointer may write its lease item only.
    for (const f of [checkpointer, repairer]) f.addEnvironment(FUNCTION_ENV.leaseTable, this.requests.table.tableName);
    this.requests.grantLease(checkpointer, LEASES.checkpoint);
    checkpointer.addEnvironment(FUNCTION_ENV.checkpointSettle, String(settle.toSeconds()));
    this.ledger.grantCheckpoint(checkpointer);
    this.checkpointSchedule = new Rule(this, 'CheckpointSchedule', {
      description: 'Countersign: seal the audit ledger with a signed checkpoint',
      schedule: Schedule.rate(checkpointInterval),
      targets: [new LambdaFunction(checkpointer, { retryAttempts: 2 })],
    });

    for (const f of [intake, repairer]) {
      f.addEnvironment(FUNCTION_ENV.stateMachineArn, this.workflow.stateMachine.stateMachineArn);
      this.workflow.stateMachine.grantStartExecution(f);
    }
    // The repair job finds what is still pending, and completes it.
    repairer.addEnvironment(FUNCTION_ENV.repairGrace, String((props.repairGrace ?? Duration.seconds(60)).toSeconds()));
    this.requests.grantListPending(repairer);
    this.repairSchedule = new Rule(this, 'RepairSchedule', {
      description: 'Countersign: complete requests a failure left half-done',
      schedule: Schedule.rate(props.repairInterval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(repairer, { retryAttempts: 0 })],
    });
    // Auditors export the whole ledger (GET /v1/audit/export; the console's search, charts, verify and download).
    for (const f of [intake, console]) {
      this.ledger.grantRead(f);
      this.ledger.grantExport(f);
    }
    // The deployment's secret MAC key: review tokens (notifier, decision), and request ids for an Idempotency-Key
    // and each request's parameters salt, which every function that issues a receipt derives.
    for (const f of [intake, notifier, decision, finalizer, repairer, console]) {
      f.addEnvironment(FUNCTION_ENV.reviewKeyId, this.reviewTokenKey.key.keyArn);
      this.reviewTokenKey.grantGenerate(f);
    }
    // Links in notifications and sign-in redirects point at the API.
    for (const f of [notifier, decision, console]) f.addEnvironment(FUNCTION_ENV.publicUrl, this.api.url);
    // Callbacks (vetted at intake, sent by the finalizer) reach public https addresses only; local mode says loopback.
    for (const f of [intake, finalizer]) f.addEnvironment(FUNCTION_ENV.callbackNetwork, 'public' satisfies CallbackNetwork);
    const email = props.config.channels.email;
    if (email) {
      // Send only as the configured sender: its address identity, or the domain identity that covers it.
      // SES sandbox: an account in the sandbox may send only to verified identities, and SES then also authorizes
      // the call against each recipient's identity, so this grant (the sender's identities only) is refused for an
      // approver outside them (AccessDenied naming identity/<approver>): such a send is recorded as failed, and a
      // request nobody could be asked expires. Deploy with production access (out of the sandbox); in the sandbox
      // only approvers the sender's verified identities cover can be emailed.
      const stack = Stack.of(this);
      const identities = [email.from, email.from.split('@')[1]!].map((identity) =>
        stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }),
      );
      const configurationSets = email.configurationSet
        ? [stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: email.configurationSet })]
        : [];
      // The decision function emails personal review links asked for from a Teams card.
      for (const f of [notifier, decision])
        f.addToRolePolicy(new PolicyStatement({ actions: ['ses:SendEmail'], resources: [...identities, ...configurationSets] }));
    }
    // Review tokens and console sessions are checked against the key.
    for (const f of [decision, console]) this.reviewTokenKey.grantVerify(f);
    // "What waits for me": the decision function and the console's inbox list pending requests.
    for (const f of [decision, console]) this.requests.grantListPending(f);
    // Intake finds the grants that may cover a request, and lists them (GET /v1/grants); the repair job lists them to
    // end, for good, those whose rule a policy change ended.
    for (const f of [intake, repairer]) this.requests.grantFindGrants(f);
    // Channel and sign-in secrets: each function may read exactly the Secrets Manager secrets it uses.
    const { slack, teams } = props.config.channels;
    const oidc = props.config.auth.oidc;
    const secretsOf: Array<[CountersignFunction, Array<string | undefined>]> = [
      [notifier, [slack?.botToken, teams?.webhookUrl]],
      [decision, [slack?.signingSecret, oidc?.clientSecret]],
      // The finalizer DMs the requester on Slack when a request settles.
      [finalizer, [slack?.botToken]],
    ];
    for (const [f, refs] of secretsOf) {
      const arns = refs.filter((r): r is string => r?.startsWith('arn:') === true);
      if (arns.length > 0) f.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: arns }));
    }
    // Whoever settles a request (a vote, a cancel) tells the waiting workflow. The notifier must not: its grant on
    // the state machine would make a dependency cycle (the state machine invokes it); it signals through its error.
    for (const f of [intake, decision, repairer, console]) this.workflow.stateMachine.grantTaskResponse(f);

    this.operations = new CountersignOperations(this, 'Operations', {
      functions: this.functions,
      stateMachine: this.workflow.stateMachine,
      httpApi: this.api.httpApi,
      tables: { requests: this.requests.table, ledger: this.ledger.table },
      alarmEmails: alarmEmails(props.config),
      checkpointInterval,
    });
  }
}
