/**
 * Local mode: the whole of Countersign on 127.0.0.1, with no AWS account. It synthesizes the real CDK app and runs
 * what the template says: the tables in dynalite, the keys in the local KMS endpoint, the state machine in the local
 * Step Functions endpoint, and the HTTP API's routes in the local gateway. Each route, task and schedule invokes its
 * function as Lambda would: the bundle the stack builds (or, with COUNTERSIGN_LOCAL_SOURCE=1, its TypeScript source),
 * in execution environments of its own with the environment the template gives it, under the template's timeout and
 * reserved concurrency (./lambda.ts). Email, Slack and Teams go to local stand-ins of SES, Slack's Web API and a Teams
 * webhook (./channels.ts), which keep each message in the inbox; the config's secrets come from the environment
 * (`env:NAME`) or from a local Secrets Manager (ARNs, ./secrets-manager.ts). Data lives under the data folder, so a
 * restart loses nothing and waiting executions resume.
 */
import { mkdirSync, unwatchFile, watchFile } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  type ScanCommandOutput,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, SFNClient, StateMachineAlreadyExists, UpdateStateMachineCommand } from '@aws-sdk/client-sfn';
import dynalite from 'dynalite';
import { z } from 'zod';
import { loadConfigFile } from '../lambdas/adapters/config-file';
import { policyVersion } from '../lambdas/adapters/deployed-config';
import { FUNCTION_ENV, type LogLevel } from '../lambdas/adapters/environment';
import type { CallbackNetwork } from '../lambdas/core/callback';
import { type Config, ConfigError, secretRefs, shippedConfig } from '../lambdas/core/config';
import { closeServer, listenLoopback } from './aws-json';
import { BUNDLE_CACHE, type LocalBundles, localBundles, REPO_ROOT, touchBundles } from './bundles';
import { type CfnTemplate, LOCAL_ACCOUNT, LOCAL_REGION, type LocalResourceNames, resolveIntrinsics, resourcesOfType } from './cfn';
import { type LocalChannels, startLocalChannels } from './channels';
import { DataFolderInUseError, lockDataFolder } from './data-lock';
import { dynamoWithTransactions } from './dynamo-transactions';
import { faultProxy, type LocalFaults } from './faults';
import { LocalGateway, routesFromTemplate } from './gateway';
import { LocalInbox } from './inbox';
import { type LocalKeySpec, LocalKms } from './kms';
import { type LocalFunctionSpec, LocalFunctions, stepFunctionsInvoker } from './lambda';
import { LocalMetrics } from './metrics';
import { LocalSchedules, type ScheduledRule, schedulesFromTemplate } from './schedules';
import { LocalSecretsManager } from './secrets-manager';
import { LocalStepFunctions } from './sfn';
import type { LocalFunction } from './synth';

export interface LocalRuntimeOptions {
  readonly config: Config;
  /** The file `config` came from: edits to it take effect without a restart (an invalid edit is reported and ignored). */
  readonly configFile?: string;
  /** Where reload messages go. @default console.log / console.error */
  readonly log?: { info(message: string): void; error(message: string): void };
  /** Folder for all local data (tables, keys, executions, inbox). */
  readonly dataDir: string;
  /** Port of the API on 127.0.0.1; 0 picks a free one. @default 8787 */
  readonly port?: number;
  /** Print one line per API call. @default false */
  readonly accessLog?: boolean;
  /** Fault injection: the AWS endpoints the functions call go through its proxies, and `/_local/faults` manages it. @default off */
  readonly faults?: LocalFaults;
  /**
   * What the functions run: `bundle`, the assets the stack builds (cached, see ./bundles.ts), or `source`, their
   * TypeScript sources through tsx (COUNTERSIGN_LOCAL_SOURCE=1 in `npm start`).
   * @default 'bundle'
   */
  readonly code?: 'bundle' | 'source';
  /** Folder of the bundle cache. @default node_modules/.cache/countersign-local */
  readonly bundleCache?: string;
  /**
   * Scales the local Step Functions' backoff between Retry attempts (COUNTERSIGN_LOCAL_RETRY_SCALE in `npm start`),
   * for tests of failure handling. Timeouts and deadlines keep real time. @default 1
   */
  readonly retryDelayScale?: number;
  /**
   * Whether the template's scheduled rules (checkpoints, repair) run on their timers. `false` runs them only when
   * asked (`POST /_local/schedules/run`), as the bench does to keep them out of its measuring windows. @default true
   */
  readonly scheduleTimers?: boolean;
  /**
   * The functions' log level and debug sampling rate instead of the template's (COUNTERSIGN_LOG_LEVEL and
   * COUNTERSIGN_LOG_SAMPLE_RATE in `npm start`, as for `cdk deploy`). @default the template's: INFO, 0
   */
  readonly logs?: LocalSpecInputs['logs'];
}

export interface LocalRuntime {
  /** Base URL of the API, inbox and health check. */
  readonly url: string;
  /**
   * The local AWS endpoints, for the AWS SDK or CLI (`--endpoint-url`), and the local Slack Web API (`…/api`), whose
   * origin also serves response URLs (`<origin>/actions/…`; see ./channels.ts).
   */
  readonly endpoints: {
    readonly dynamodb: string;
    readonly kms: string;
    readonly sfn: string;
    readonly ses: string;
    readonly slack: string;
    readonly secretsManager: string;
  };
  /** What the functions run, in a few words (`6 bundles, cached`). */
  readonly code: string;
  /** The functions' names (their logical ids). */
  readonly functions: readonly string[];
  /**
   * The metrics the functions published, read from the embedded metric format lines they print (`GET
   * /_local/metrics`): each series added up, and the newest lines as printed.
   */
  readonly metrics: LocalMetrics;
  /** Invokes a function as Lambda's synchronous Invoke does (rejects with its FunctionError or a throttle). */
  invoke(functionName: string, payload: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Local mode cannot start for a reason the user can fix (a data folder from an older version, a template feature it
 * does not run). Its message is the whole story: it prints as one line, without a stack.
 */
export class LocalStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalStartError';
    this.stack = `${this.name}: ${message}`;
  }
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is already in use; stop what holds it or set PORT to another port`);
    this.name = 'PortInUseError';
  }
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { dataDir } = options;
  let config = options.config;
  const log = options.log ?? { info: (m: string) => console.log(m), error: (m: string) => console.error(m) };
  // Local mode runs on the Node.js of the laptop; the deployed functions run nodejs22.x.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // One local mode per data folder: a second one is refused here, naming the first's pid (./data-lock.ts).
  const port = options.port ?? 8787;
  let lock: { release(): void };
  try {
    lock = lockDataFolder(dataDir, port === 0 ? undefined : `http://127.0.0.1:${port}`);
  } catch (err) {
    if (err instanceof DataFolderInUseError) throw new LocalStartError(err.message);
    throw err;
  }
  let ready = false;
  let gateway: LocalGateway | undefined;
  const inbox = new LocalInbox(dataDir);

  // Claim the API port first, so a busy port fails at once and not after seconds of setup.
  // No Host is answered by the gateway's own 421 (see ./loopback.ts), not Node's bare 400.
  // Idle connections are kept 30 s (Node's default is 5 s). A client reuses one until just before the server's
  // `Keep-Alive: timeout` (undici: a second before); with 5 s, a busy client whose timers run late could send on a
  // connection the server was closing ("other side closed"). Stopping still closes every connection at once.
  const api = createServer({ requireHostHeader: false, keepAliveTimeout: 30_000, headersTimeout: 60_000 }, (req, res) => {
    if (gateway) return gateway.handler(req, res);
    res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false }));
  });
  const url = await listenLoopback(api, port, { browsers: true }).catch((err: NodeJS.ErrnoException) => {
    lock.release();
    throw err.code === 'EADDRINUSE' ? new PortInUseError(port) : err;
  });

  const servers: Array<{ close(): Promise<void> }> = [];
  let schedules: LocalSchedules | undefined;
  try {
    const codeKind = options.code ?? 'bundle';
    const bundleCache = options.bundleCache ?? BUNDLE_CACHE;
    // Bundles come with the template they were synthesized with: a cache hit needs neither a synth nor the CDK. A
    // miss builds them in a child process. Sources are synthesized here.
    let bundles: LocalBundles | undefined;
    if (codeKind === 'bundle') {
      try {
        bundles = await localBundles(config, bundleCache);
      } catch (err) {
        throw new LocalStartError((err as Error).message);
      }
    }
    const { template, functions } = bundles ?? (await import('./synth')).synthesizeForLocal(config);

    const dynamoServer = dynalite({ path: `${dataDir}/dynamodb`, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const dynaliteUrl = await listenLoopback(dynamoServer);
    servers.push({ close: () => closeServer(dynamoServer) });
    // In front of dynalite: the ledger's TransactWriteItems.
    const dynamoFront = dynamoWithTransactions(dynaliteUrl);
    const dynamodbUrl = await listenLoopback(dynamoFront);
    servers.push({ close: () => closeServer(dynamoFront) });

    const kms = new LocalKms({ dataDir, region: LOCAL_REGION, accountId: LOCAL_ACCOUNT });
    const kmsUrl = await kms.listen();
    servers.push(kms);

    // Values for the config's Secrets Manager ARNs that local mode cannot supply itself (COUNTERSIGN_LOCAL_SECRETS).
    let secretValues: Readonly<Record<string, string>>;
    try {
      secretValues = localSecretValues(process.env);
    } catch (err) {
      throw new LocalStartError((err as Error).message);
    }
    // SES, Slack and Teams: they check what the functions send as the services do, and keep it in the inbox.
    const channels: LocalChannels = await startLocalChannels({
      inbox,
      emailSender: () => config.channels.email?.from,
      slackToken: () => {
        const ref = config.channels.slack?.botToken;
        if (!ref) return undefined;
        return ref.startsWith('env:') ? localSecrets(config, process.env, channels)[ref.slice(4)] : localSecretArns(config, secretValues, channels)[ref];
      },
      ...(options.faults ? { faults: options.faults } : {}),
    });
    servers.push(channels);

    // Secrets Manager: the config's secret ARNs, with the values local mode gives their `env:NAME` equivalents.
    const secretsManager = new LocalSecretsManager({ secrets: () => localSecretArns(config, secretValues, channels) });
    const secretsManagerUrl = await secretsManager.listen();
    servers.push(secretsManager);

    let lambdas: LocalFunctions | undefined;
    const metrics = new LocalMetrics();
    // Invocations still running when local mode stops must finish before the stores close under them.
    const inflight = new Set<Promise<unknown>>();
    const invoke = async (functionId: string, event: unknown): Promise<unknown> => {
      if (!lambdas) throw new Error(`local mode is still starting; function ${functionId} is not ready`);
      const running = lambdas.invoke(functionId, event);
      inflight.add(running);
      try {
        return await running;
      } finally {
        inflight.delete(running);
      }
    };
    // Stopping: the running invocations drain, then the environments end, then the stores close.
    servers.push({ close: async () => lambdas?.close() });
    servers.push({ close: () => drain(inflight, DRAIN_MS) });
    const lambdaArn = (id: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${id}`;
    const functionIdOfArn = (arn: string): string => {
      const id = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)$/.exec(arn)?.[1];
      if (!id || !functions.has(id)) throw new Error(`local mode has no function for ${arn}`);
      return id;
    };
    const sfn = new LocalStepFunctions({
      dataDir,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      invokeLambda: stepFunctionsInvoker((name, payload) => invoke(name, payload), functionIdOfArn),
      ...(options.retryDelayScale !== undefined ? { retryDelayScale: options.retryDelayScale } : {}),
    });
    // Serve the API before start(): the handlers need its URL in their environment before resumed executions run them.
    const sfnServer = createServer(sfn.handler);
    const sfnUrl = await listenLoopback(sfnServer);
    servers.push({ close: () => sfn.close().then(() => closeServer(sfnServer)) });

    // Local names for the template's resources.
    const keyArns = new Map<string, string>();
    for (const [id, key] of resourcesOfType(template, 'AWS::KMS::Key')) {
      keyArns.set(id, await kms.ensureKey(`alias/countersign/${id}`, localKeySpec(id, key.Properties?.KeySpec)));
    }
    const stateMachineArn = (id: string) => `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${id}`;
    const tableTypes = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);
    const names: LocalResourceNames = {
      ref: (id) => {
        const type = template.Resources[id]?.Type;
        if (type && tableTypes.has(type)) return id;
        if (type === 'AWS::KMS::Key') return keyArns.get(id)?.split('/').pop();
        if (type === 'AWS::StepFunctions::StateMachine') return stateMachineArn(id);
        // The API's own URL is replaced by the local gateway's below (COUNTERSIGN_PUBLIC_URL).
        if (type === 'AWS::ApiGatewayV2::Api') return 'local-api';
        return undefined;
      },
      getAtt: (id, attribute) => {
        const type = template.Resources[id]?.Type;
        if (type === 'AWS::ApiGatewayV2::Api' && attribute === 'ApiEndpoint') return 'local-api';
        if (attribute !== 'Arn') return undefined;
        if (type === 'AWS::KMS::Key') return keyArns.get(id);
        if (type === 'AWS::Lambda::Function' && functions.has(id)) return lambdaArn(id);
        if (type && tableTypes.has(type)) return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${id}`;
        return undefined;
      },
    };

    const dynamo = new DynamoDBClient({ endpoint: dynamodbUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    for (const [id, table] of resourcesOfType(template, 'AWS::DynamoDB::GlobalTable').concat(resourcesOfType(template, 'AWS::DynamoDB::Table'))) {
      await createTableIfMissing(dynamo, id, table.Properties ?? {}, log);
    }
    dynamo.destroy();

    // With fault injection on, the functions reach the AWS endpoints through proxies that can fail chosen calls.
    const reach = { dynamodb: dynamodbUrl, kms: kmsUrl, sfn: sfnUrl };
    if (options.faults) {
      for (const service of ['dynamodb', 'kms', 'sfn'] as const) {
        const proxy = await faultProxy(service, reach[service], options.faults);
        servers.push(proxy);
        reach[service] = proxy.url;
      }
    }
    const specsFor = (current: Config, built: LocalBundles | undefined) =>
      localFunctionSpecs(template, functions, names, {
        code: (fn) => (built ? { kind: 'bundle', file: built.files.get(fn.logicalId)! } : { kind: 'source', file: fn.entry }),
        endpoints: { ...reach, ses: channels.ses, slackApi: channels.slackApi, secretsManager: secretsManagerUrl },
        publicUrl: url,
        secrets: localSecrets(current, process.env, channels),
        config: current,
        ...(options.logs ? { logs: options.logs } : {}),
      });
    // Everything the functions print is relayed as before; their EMF lines are also read as CloudWatch would read them.
    lambdas = new LocalFunctions(specsFor(config, bundles), {
      stdout: (functionName, line) => {
        try {
          metrics.observe(functionName, line);
        } catch {
          // A line that breaks the reading is left unread: what a function prints never stops local mode.
        }
        process.stdout.write(`${line}\n`);
      },
    });
    // Keeps this run's cache entry marked as used, so pruning by another start leaves it alone.
    let inUse = bundles?.dir;
    const touching = setInterval(() => inUse && touchBundles(inUse), 10 * 60_000);
    touching.unref();
    servers.push({ close: async () => clearInterval(touching) });
    const codeSummary = bundles
      ? `${bundles.files.size} bundles, ${bundles.built ? 'built' : 'cached'} in ${bundles.dir}`
      : `${functions.size} TypeScript sources (COUNTERSIGN_LOCAL_SOURCE=1)`;

    await sfn.start();
    const sfnClient = new SFNClient({ endpoint: sfnUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    for (const [id, machine] of resourcesOfType(template, 'AWS::StepFunctions::StateMachine')) {
      const definition = String(resolveIntrinsics(machine.Properties?.DefinitionString, names, `${id}.DefinitionString`));
      const roleArn = `arn:aws:iam::${LOCAL_ACCOUNT}:role/${id}Role`;
      try {
        await sfnClient.send(new CreateStateMachineCommand({ name: id, definition, roleArn, type: 'STANDARD' }));
      } catch (err) {
        // The code changed since the last start: run the new definition, as a deploy would.
        if (!(err instanceof StateMachineAlreadyExists)) throw err;
        await sfnClient.send(new UpdateStateMachineCommand({ stateMachineArn: stateMachineArn(id), definition }));
      }
    }
    sfnClient.destroy();
    // One warm environment per function, loading while the rest starts.
    lambdas.prewarm();

    // Scheduled rules (the ledger checkpoints) run on the template's cadence, through `invoke` so stopping drains them.
    let rules: ScheduledRule[];
    try {
      rules = schedulesFromTemplate(template, names, functionIdOfArn, { region: LOCAL_REGION, account: LOCAL_ACCOUNT });
    } catch (err) {
      throw new LocalStartError((err as Error).message);
    }
    schedules = new LocalSchedules({ rules, invoke: (id, event) => invoke(id, event), log, region: LOCAL_REGION, account: LOCAL_ACCOUNT });
    const runSchedules = schedules.runAll.bind(schedules);

    gateway = new LocalGateway({
      routes: routesFromTemplate(template, names, functionIdOfArn),
      invoke: (id, event) => invoke(id, event),
      apiKeys: () => config.local.apiKeys,
      oidc: () => config.auth.oidc !== undefined,
      inbox,
      ready: () => ready,
      accessLog: options.accessLog ?? false,
      runSchedules,
      metrics,
      ...(options.faults ? { faults: options.faults } : {}),
    });
    // Policy reload: the policy ships inside the bundles, so an edit rebuilds them (as a deploy would) and new
    // invocations run in environments of the new code; the gateway reads the keys at once.
    let stopWatching = () => {};
    let deployedText = JSON.stringify(shippedConfig(config));
    let reloads = 0;
    let redeploying = Promise.resolve();
    if (options.configFile) {
      const file = options.configFile;
      const redeploy = (next: Config, seq: number) => {
        redeploying = redeploying.then(async () => {
          if (seq !== reloads) return;
          let built: LocalBundles | undefined;
          if (codeKind === 'bundle') {
            try {
              built = await localBundles(next, bundleCache);
            } catch (err) {
              log.error(`countersign: the edited policy could not be built; keeping the last good one.\n${(err as Error).message}`);
              return;
            }
            if (seq !== reloads || !lambdas) return;
            inUse = built.dir;
          }
          lambdas?.update(specsFor(next, built));
          log.info(`countersign: policy reloaded from ${file} (version ${policyVersion(next).slice(0, 12)})`);
        });
      };
      const reload = () => {
        let next: Config;
        try {
          next = loadConfigFile(file);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          log.error(`countersign: the edited config is invalid; keeping the last good policy.\n${err.message}`);
          return;
        }
        const text = JSON.stringify(shippedConfig(next));
        if (text === deployedText && JSON.stringify(next.local) === JSON.stringify(config.local)) return;
        config = next;
        if (text === deployedText) return;
        deployedText = text;
        reloads += 1;
        if (codeKind === 'bundle') log.info(`countersign: ${file} changed; rebuilding the function bundles`);
        redeploy(next, reloads);
      };
      // Polling survives editors that replace the file (rename on save), which fs.watch loses track of.
      watchFile(file, { interval: 250 }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) reload();
      });
      stopWatching = () => unwatchFile(file);
    }
    // Local mode was stopped for a while, perhaps days: the checkpoints catch up soon after a start.
    if (options.scheduleTimers !== false) schedules.start(CATCH_UP_MS);
    ready = true;
    return {
      url,
      endpoints: { dynamodb: dynamodbUrl, kms: kmsUrl, sfn: sfnUrl, ses: channels.ses, slack: channels.slackApi, secretsManager: secretsManagerUrl },
      code: codeSummary,
      functions: [...functions.keys()],
      metrics,
      invoke: (name, payload) => invoke(name, payload),
      close: async () => {
        ready = false;
        stopWatching();
        // A rebuild still running finishes into the cache on its own; nothing waits for it.
        reloads += 1;
        // No new scheduled runs; the ones in flight drain with the other invocations below.
        schedules?.stop();
        await closeServer(api);
        try {
          for (const server of servers.reverse()) await server.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    schedules?.stop();
    await closeServer(api);
    for (const server of servers.reverse()) await server.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

/** The first scheduled run after a start comes within this long. */
const CATCH_UP_MS = 30_000;

/** How long stopping waits for running invocations. */
const DRAIN_MS = 10_000;

async function drain(inflight: Set<Promise<unknown>>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (inflight.size > 0 && Date.now() < deadline) {
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
  }
}

function localKeySpec(id: string, spec: unknown): LocalKeySpec {
  if (spec === 'ECC_NIST_P256' || spec === 'HMAC_256') return spec;
  throw new Error(`KMS key ${id}: key spec ${String(spec)} is not supported in local mode`);
}

async function createTableIfMissing(dynamo: DynamoDBClient, id: string, props: Record<string, unknown>, log: { info(message: string): void }): Promise<void> {
  const input: CreateTableCommandInput = {
    TableName: id,
    KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: 'PAY_PER_REQUEST',
  };
  const indexes = props.GlobalSecondaryIndexes as Array<Record<string, unknown>> | undefined;
  if (indexes?.length) {
    input.GlobalSecondaryIndexes = indexes.map((index) => ({
      IndexName: String(index.IndexName),
      KeySchema: index.KeySchema as never,
      Projection: index.Projection as never,
    }));
  }
  const staging = `${id}.rebuild`;
  // A rebuild that stopped half-way (see below) resumes from its staging copy before anything else runs.
  if (await describeTable(dynamo, staging)) return rebuild(dynamo, input, staging, log);
  try {
    await createActiveTable(dynamo, input);
    return;
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  // The table comes from an older data folder and may lack an index added since (the ledger's bySlot). dynalite 4
  // cannot add one (UpdateTable accepts GlobalSecondaryIndexUpdates Create but never builds it), so the table is
  // rebuilt with its items: restarts lose nothing, upgrades included.
  const existing = await describeTable(dynamo, id);
  const present = new Set((existing?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const missing = (input.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName!).filter((name) => !present.has(name));
  if (missing.length === 0) return;
  await createActiveTable(dynamo, {
    TableName: staging,
    KeySchema: input.KeySchema,
    AttributeDefinitions: existing!.AttributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
  });
  const kept = await copyItems(dynamo, id, staging);
  log.info(`countersign: table ${id} gains index ${missing.join(', ')}; rebuilding it with its ${kept} items`);
  await rebuild(dynamo, input, staging, log);
}

/** Drops `input`'s table if present, creates it as the template says, and moves the staging copy's items into it. */
async function rebuild(dynamo: DynamoDBClient, input: CreateTableCommandInput, staging: string, log: { info(message: string): void }): Promise<void> {
  if (await describeTable(dynamo, input.TableName!)) {
    await dynamo.send(new DeleteTableCommand({ TableName: input.TableName }));
    // dynalite drops a table in the background: wait until it is gone before creating it again.
    for (let i = 0; i < 200 && (await describeTable(dynamo, input.TableName!)); i++) await new Promise((r) => setTimeout(r, 25));
  }
  await createActiveTable(dynamo, input);
  const moved = await copyItems(dynamo, staging, input.TableName!);
  await dynamo.send(new DeleteTableCommand({ TableName: staging }));
  log.info(`countersign: table ${input.TableName} rebuilt with ${moved} items`);
}

/**
 * Creates a table and waits until it is ACTIVE: dynalite answers CreateTable while the table is still CREATING (a
 * timer, even at createTableMs 0), and answers a write to it then as ResourceNotFoundException.
 */
async function createActiveTable(dynamo: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  await dynamo.send(new CreateTableCommand(input));
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: input.TableName! });
}

async function describeTable(dynamo: DynamoDBClient, name: string) {
  try {
    return (await dynamo.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/** Copies every item (PutItem, so a repeated copy is harmless); answers how many. */
async function copyItems(dynamo: DynamoDBClient, from: string, to: string): Promise<number> {
  let copied = 0;
  let startKey: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: from, ConsistentRead: true, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) await dynamo.send(new PutItemCommand({ TableName: to, Item: item }));
    copied += page.Items?.length ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return copied;
}

/** The names of the `env:NAME` secrets the config refers to. */
export function envSecretNames(config: Config): string[] {
  // Only the fields that name secrets: an `env:X` text anywhere else (a rule's value) copies no variable in.
  return [...new Set(secretRefs(config).flatMap(([, ref]) => (ref.startsWith('env:') ? [ref.slice(4)] : [])))].sort();
}

/** The values of the config's `env:NAME` secrets that are set here (an ARN's is the local Secrets Manager's). */
export function secretsFromEnvironment(config: Config, env: NodeJS.ProcessEnv): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const name of envSecretNames(config)) {
    const value = env[name];
    if (value) secrets[name] = value;
  }
  return secrets;
}

/** The bot token local mode's Slack accepts when the shell sets none for `channels.slack.botToken`. */
export const LOCAL_SLACK_BOT_TOKEN = 'xoxb-countersign-local';

/**
 * The secrets the functions get in local mode: the `env:NAME` secrets set here, with the channels pointed at local
 * mode's own services. The Teams webhook secret is always the local webhook's URL (local mode never posts to Teams);
 * an unset Slack bot token is LOCAL_SLACK_BOT_TOKEN. A secret named by a Secrets Manager ARN is served by the local
 * Secrets Manager instead (see `localSecretArns`).
 */
export function localSecrets(config: Config, env: NodeJS.ProcessEnv, channels: Pick<LocalChannels, 'teamsWebhook'>): Record<string, string> {
  const secrets = secretsFromEnvironment(config, env);
  const envName = (ref: string | undefined) => (ref?.startsWith('env:') ? ref.slice(4) : undefined);
  const teams = envName(config.channels.teams?.webhookUrl);
  if (teams) secrets[teams] = channels.teamsWebhook;
  const slack = envName(config.channels.slack?.botToken);
  if (slack) secrets[slack] ??= LOCAL_SLACK_BOT_TOKEN;
  return secrets;
}

/** The variable giving values for secret ARNs: a JSON object of ARN to value. */
export const LOCAL_SECRETS_VARIABLE = 'COUNTERSIGN_LOCAL_SECRETS';

const localSecretValuesSchema = z.record(z.string().min(1), z.string().min(1));

/** COUNTERSIGN_LOCAL_SECRETS parsed (empty when unset); throws a one-line explanation when it is not an object of strings. */
export function localSecretValues(env: NodeJS.ProcessEnv): Record<string, string> {
  const text = env[LOCAL_SECRETS_VARIABLE];
  if (!text) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${LOCAL_SECRETS_VARIABLE} must be a JSON object of secret ARN to value, e.g. '{"arn:aws:secretsmanager:…":"value"}'; it is not JSON`);
  }
  const parsed = localSecretValuesSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${LOCAL_SECRETS_VARIABLE} must be a JSON object of secret ARN to value (each a non-empty string), e.g. '{"arn:aws:secretsmanager:…":"value"}'`,
    );
  }
  return parsed.data;
}

/**
 * What the local Secrets Manager serves: each Secrets Manager ARN the config names, with the value local mode gives
 * the same secret written as `env:NAME` (see `localSecrets`). The Teams webhook is always the local webhook's URL; the
 * Slack bot token is its value in COUNTERSIGN_LOCAL_SECRETS (`values`), else LOCAL_SLACK_BOT_TOKEN; any other secret
 * (the Slack signing secret, the OIDC client secret) only its value in COUNTERSIGN_LOCAL_SECRETS. An ARN with no value
 * is not served, so reading it fails as on AWS (ResourceNotFoundException), and so does an ARN the config does not name.
 */
export function localSecretArns(
  config: Config,
  values: Readonly<Record<string, string>>,
  channels: Pick<LocalChannels, 'teamsWebhook'>,
): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const [path, ref] of secretRefs(config)) {
    if (ref.startsWith('env:')) continue;
    const given = Object.hasOwn(values, ref) ? values[ref] : undefined;
    const value = path === 'channels.teams.webhookUrl' ? channels.teamsWebhook : path === 'channels.slack.botToken' ? (given ?? LOCAL_SLACK_BOT_TOKEN) : given;
    // Two fields naming one ARN are one secret, as on AWS: the first field's value stands (Teams comes before OIDC).
    if (value !== undefined && !Object.hasOwn(secrets, ref)) secrets[ref] = value;
  }
  return secrets;
}

export interface LocalSpecInputs {
  /** The code a function runs: its bundle, or its TypeScript source. */
  readonly code: (fn: LocalFunction) => { readonly kind: 'bundle' | 'source'; readonly file: string };
  /** Where the functions' SDK clients reach DynamoDB, KMS, Step Functions, SES and Secrets Manager, and their Slack Web API base. */
  readonly endpoints: {
    readonly dynamodb: string;
    readonly kms: string;
    readonly sfn: string;
    readonly ses: string;
    readonly slackApi: string;
    readonly secretsManager: string;
  };
  /** The local gateway's URL, standing in for the HTTP API's. */
  readonly publicUrl: string;
  /** The `env:NAME` secrets' values. */
  readonly secrets: Readonly<Record<string, string>>;
  /** The log level and debug sampling rate, in place of the template's values of their variables. @default the template's */
  readonly logs?: { readonly level?: LogLevel; readonly sampleRate?: number };
  /** The policy: inlined in a bundle, given as COUNTERSIGN_CONFIG_JSON to a source. */
  readonly config: Config;
}

/**
 * Each function as the template describes it: its code, `Timeout`, `MemorySize`, `ReservedConcurrentExecutions`,
 * and its environment, which is exactly
 *
 * - the template's `Environment.Variables`, resolved to the local tables, keys and state machine, with the API's URL
 *   (COUNTERSIGN_PUBLIC_URL, where the template gives it) the local gateway's;
 * - what Lambda's runtime sets: AWS_REGION, AWS_DEFAULT_REGION, AWS_EXECUTION_ENV, AWS_LAMBDA_FUNCTION_NAME,
 *   AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_INITIALIZATION_TYPE (`on-demand`, which
 *   the logger reads to tell a cold start), _HANDLER, LAMBDA_TASK_ROOT, TZ (`:UTC`) and the role's credentials
 *   (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; local ones);
 * - what local mode needs: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_SFN,
 *   AWS_ENDPOINT_URL_SESV2 and AWS_ENDPOINT_URL_SECRETS_MANAGER (the SDK reaches the local endpoints; the last is the
 *   variable the SDK derives from Secrets Manager's service id, "Secrets Manager"), COUNTERSIGN_SLACK_API_URL (Slack's
 *   Web API is the local one), CALLBACK_NETWORK `loopback` where the template sets it (callbacks may reach loopback),
 *   the config's `env:NAME` secrets (see `localSecrets`; its ARNs are the local Secrets Manager's),
 *   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED when this Node.js is older than the functions' nodejs22.x (the
 *   SDK would warn on every cold start), and for a TypeScript source COUNTERSIGN_CONFIG_JSON (a bundle has the policy
 *   inlined).
 */
export function localFunctionSpecs(
  template: CfnTemplate,
  functions: ReadonlyMap<string, LocalFunction>,
  names: LocalResourceNames,
  inputs: LocalSpecInputs,
): LocalFunctionSpec[] {
  return [...functions.values()].map((fn) => {
    const props = template.Resources[fn.logicalId]?.Properties ?? {};
    const variables = resolveIntrinsics(
      (props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
      names,
      `${fn.logicalId}.Environment`,
    ) as Record<string, string>;
    if (Object.hasOwn(variables, FUNCTION_ENV.publicUrl)) variables[FUNCTION_ENV.publicUrl] = inputs.publicUrl;
    // Local mode's requesters listen on loopback: the functions that vet and send callbacks may reach it.
    if (Object.hasOwn(variables, FUNCTION_ENV.callbackNetwork)) variables[FUNCTION_ENV.callbackNetwork] = 'loopback' satisfies CallbackNetwork;
    // The developer's own log settings, as `cdk deploy` would set them.
    if (inputs.logs?.level && Object.hasOwn(variables, FUNCTION_ENV.logLevel)) variables[FUNCTION_ENV.logLevel] = inputs.logs.level;
    if (inputs.logs?.sampleRate !== undefined && Object.hasOwn(variables, FUNCTION_ENV.logSampleRate)) {
      variables[FUNCTION_ENV.logSampleRate] = String(inputs.logs.sampleRate);
    }
    const code = inputs.code(fn);
    const handler = String(props.Handler ?? 'index.handler');
    const memorySize = Number(props.MemorySize ?? 128);
    const cwd = code.kind === 'bundle' ? dirname(code.file) : REPO_ROOT;
    const environment: Record<string, string> = {
      ...variables,
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_EXECUTION_ENV: `AWS_Lambda_${String(props.Runtime ?? 'nodejs22.x')}`,
      AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      _HANDLER: handler,
      LAMBDA_TASK_ROOT: cwd,
      TZ: ':UTC',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: inputs.endpoints.dynamodb,
      AWS_ENDPOINT_URL_KMS: inputs.endpoints.kms,
      AWS_ENDPOINT_URL_SFN: inputs.endpoints.sfn,
      AWS_ENDPOINT_URL_SESV2: inputs.endpoints.ses,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: inputs.endpoints.secretsManager,
      [FUNCTION_ENV.slackApiUrl]: inputs.endpoints.slackApi,
      ...inputs.secrets,
      ...(Number(process.versions.node.split('.')[0]) < 22 ? { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } : {}),
      ...(code.kind === 'source' ? { COUNTERSIGN_CONFIG_JSON: JSON.stringify(shippedConfig(inputs.config)) } : {}),
    };
    const reserved = props.ReservedConcurrentExecutions;
    return {
      name: fn.logicalId,
      code: { file: code.file, handler: handler.slice(handler.lastIndexOf('.') + 1) },
      timeoutSeconds: Number(props.Timeout ?? 3),
      memorySize,
      ...(reserved !== undefined ? { reservedConcurrency: Number(reserved) } : {}),
      environment,
      cwd,
      // Sources import files as text as the bundles do (./text-imports.ts).
      ...(code.kind === 'source' ? { execArgv: ['--import', 'tsx', '--import', pathToFileURL(join(REPO_ROOT, 'local/text-imports.ts')).href] } : {}),
    };
  });
}
