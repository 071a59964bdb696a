/**
 * Local mode: the whole of Countersign in one process on 127.0.0.1, with no AWS account. It synthesizes the real CDK
 * app and runs what the template says: the tables in dynalite, the keys in the local KMS endpoint, the state
 * machine in the local Step Functions endpoint, and the HTTP API's routes in the local gateway, each route and task
 * calling the same handler as on AWS with the environment the template gives it. Data lives under the data folder,
 * so a restart loses nothing and waiting executions resume.
 */
import { mkdirSync, unwatchFile, watchFile } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  type CreateTableCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, SFNClient, StateMachineAlreadyExists, UpdateStateMachineCommand } from '@aws-sdk/client-sfn';
import dynalite from 'dynalite';
import { ConfigError, type Config } from '../lambdas/core/config';
import { loadConfigFile } from '../lambdas/adapters/config-file';
import { policyVersion } from '../lambdas/adapters/deployed-config';
import { closeServer, listenLoopback } from './aws-json';
import { LOCAL_ACCOUNT, LOCAL_REGION, resolveIntrinsics, resourcesOfType, type LocalResourceNames } from './cfn';
import { LocalGateway, routesFromTemplate } from './gateway';
import { LocalInbox } from './inbox';
import { faultProxy, type LocalFaults } from './faults';
import { LocalKms, type LocalKeySpec } from './kms';
import { LocalSchedules, schedulesFromTemplate, type ScheduledRule } from './schedules';
import { LocalStepFunctions } from './sfn';
import { synthesizeForLocal } from './synth';

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
}

export interface LocalRuntime {
  /** Base URL of the API, inbox and health check. */
  readonly url: string;
  /** The local AWS endpoints, for the AWS SDK or CLI (`--endpoint-url`). */
  readonly endpoints: { readonly dynamodb: string; readonly kms: string; readonly sfn: string };
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

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { dataDir } = options;
  let config = options.config;
  const log = options.log ?? { info: (m: string) => console.log(m), error: (m: string) => console.error(m) };
  // Local mode runs on the Node.js of the laptop; the deployed functions run nodejs22.x.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let ready = false;
  let gateway: LocalGateway | undefined;
  const inbox = new LocalInbox(dataDir);

  // Claim the API port first, so a busy port fails at once and not after seconds of setup.
  // No Host is answered by the gateway's own 421 (see ./loopback.ts), not Node's bare 400.
  const api = createServer({ requireHostHeader: false }, (req, res) => {
    if (gateway) return gateway.handler(req, res);
    res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false }));
  });
  const port = options.port ?? 8787;
  const url = await listenLoopback(api, port, { browsers: true }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE' ? new PortInUseError(port) : err;
  });

  const servers: Array<{ close(): Promise<void> }> = [];
  let schedules: LocalSchedules | undefined;
  try {
    const { template, functions } = synthesizeForLocal(config);

    const dynamoServer = dynalite({ path: `${dataDir}/dynamodb`, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const dynamodbUrl = await listenLoopback(dynamoServer);
    servers.push({ close: () => closeServer(dynamoServer) });

    const kms = new LocalKms({ dataDir, region: LOCAL_REGION, accountId: LOCAL_ACCOUNT });
    const kmsUrl = await kms.listen();
    servers.push(kms);

    const handlers = new Map<string, Handler>();
    // Invocations still running when local mode stops must finish before the stores close under them.
    const inflight = new Set<Promise<unknown>>();
    const invoke = async (functionId: string, event: unknown): Promise<unknown> => {
      const handler = handlers.get(functionId);
      if (!handler) throw new Error(`no local handler for function ${functionId}`);
      const running = handler(event, lambdaContext(functionId));
      inflight.add(running);
      try {
        return await running;
      } finally {
        inflight.delete(running);
      }
    };
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
      invokeLambda: (arn, payload) => invoke(functionIdOfArn(arn), payload),
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

    // The handlers' environment: what the template gives each function, resolved to the local resources.
    const environment: Record<string, string> = {};
    for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      if (!functions.has(id)) continue;
      const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      const resolved = resolveIntrinsics(variables, names, `${id}.Environment`) as Record<string, string>;
      for (const [name, value] of Object.entries(resolved)) {
        // One process hosts every function, so a name must mean the same thing to all of them.
        if (environment[name] !== undefined && environment[name] !== value) {
          throw new Error(`functions disagree on environment variable ${name}; local mode needs shared names`);
        }
        environment[name] = value;
      }
    }
    // With fault injection on, the functions reach the AWS endpoints through proxies that can fail chosen calls.
    const reach = { dynamodb: dynamodbUrl, kms: kmsUrl, sfn: sfnUrl };
    if (options.faults) {
      for (const service of ['dynamodb', 'kms', 'sfn'] as const) {
        const proxy = await faultProxy(service, reach[service], options.faults);
        servers.push(proxy);
        reach[service] = proxy.url;
      }
    }
    const { local: _local, ...deployed } = options.config;
    Object.assign(process.env, environment, {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: reach.dynamodb,
      AWS_ENDPOINT_URL_KMS: reach.kms,
      AWS_ENDPOINT_URL_SFN: reach.sfn,
      COUNTERSIGN_CONFIG_JSON: JSON.stringify(deployed),
      COUNTERSIGN_LOCAL_INBOX_URL: `${url}/_local/inbox`,
      COUNTERSIGN_PUBLIC_URL: url,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    for (const fn of functions.values()) {
      const module = (await import(pathToFileURL(fn.entry).href)) as { handler?: Handler };
      if (typeof module.handler !== 'function') throw new Error(`${fn.entry} (${fn.path}) exports no handler`);
      handlers.set(fn.logicalId, module.handler);
    }

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
      inbox,
      ready: () => ready,
      accessLog: options.accessLog ?? false,
      runSchedules,
      ...(options.faults ? { faults: options.faults } : {}),
    });
    // Policy reload: the functions read COUNTERSIGN_CONFIG_JSON afresh when it changes, the gateway reads the keys.
    let stopWatching = () => {};
    if (options.configFile) {
      const file = options.configFile;
      const reload = () => {
        let next: Config;
        try {
          next = loadConfigFile(file);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          log.error(`countersign: the edited config is invalid; keeping the last good policy.\n${err.message}`);
          return;
        }
        const { local: _l, ...nextDeployed } = next;
        const text = JSON.stringify(nextDeployed);
        if (text === process.env.COUNTERSIGN_CONFIG_JSON && JSON.stringify(next.local) === JSON.stringify(config.local)) return;
        config = next;
        process.env.COUNTERSIGN_CONFIG_JSON = text;
        log.info(`countersign: policy reloaded from ${file} (version ${policyVersion(next).slice(0, 12)})`);
      };
      // Polling survives editors that replace the file (rename on save), which fs.watch loses track of.
      watchFile(file, { interval: 250 }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) reload();
      });
      stopWatching = () => unwatchFile(file);
    }
    // Local mode was stopped for a while, perhaps days: the checkpoints catch up soon after a start.
    schedules.start(CATCH_UP_MS);
    ready = true;
    return {
      url,
      endpoints: { dynamodb: dynamodbUrl, kms: kmsUrl, sfn: sfnUrl },
      close: async () => {
        ready = false;
        stopWatching();
        // No new scheduled runs; the ones in flight drain with the other invocations below.
        schedules?.stop();
        await closeServer(api);
        for (const server of servers.reverse()) await server.close();
      },
    };
  } catch (err) {
    schedules?.stop();
    await closeServer(api);
    for (const server of servers.reverse()) await server.close().catch(() => undefined);
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
    await dynamo.send(new CreateTableCommand(input));
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
  await dynamo.send(new CreateTableCommand({ TableName: staging, KeySchema: input.KeySchema, AttributeDefinitions: existing!.AttributeDefinitions, BillingMode: 'PAY_PER_REQUEST' }));
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
  await dynamo.send(new CreateTableCommand(input));
  const moved = await copyItems(dynamo, staging, input.TableName!);
  await dynamo.send(new DeleteTableCommand({ TableName: staging }));
  log.info(`countersign: table ${input.TableName} rebuilt with ${moved} items`);
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

function lambdaContext(functionName: string) {
  const deadline = Date.now() + 30_000;
  return {
    functionName,
    functionVersion: '$LATEST',
    awsRequestId: randomUUID(),
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

