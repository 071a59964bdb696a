/**
 * `npm start`: runs Countersign locally on http://127.0.0.1:8787 (PORT overrides), data under .countersign/
 * (COUNTERSIGN_DATA_DIR overrides), policy from COUNTERSIGN_CONFIG or countersign.config.yaml, function bundles
 * cached under node_modules/.cache/countersign-local (COUNTERSIGN_BUNDLE_CACHE overrides). For tests of failure
 * handling, COUNTERSIGN_FAULT_INJECTION=1 turns on `/_local/faults` and COUNTERSIGN_LOCAL_RETRY_SCALE (above 0, at most
 * 1) shortens the workflow's backoff between retries. COUNTERSIGN_LOCAL_SECRETS (a JSON object of secret ARN to value)
 * gives the local Secrets Manager values for the config's secret ARNs that local mode cannot supply itself.
 * COUNTERSIGN_LOG_LEVEL and COUNTERSIGN_LOG_SAMPLE_RATE set the functions' log level and debug sampling, as they do
 * for `cdk deploy`.
 */
import { resolve } from 'node:path';
import { configPath, loadConfigFile } from '../lambdas/adapters/config-file';
import { logSettingsFromEnv } from '../lambdas/adapters/environment';
import { ConfigError } from '../lambdas/core/config';
import { LocalFaults } from './faults';
import { type LocalRuntime, LocalStartError, PortInUseError, startLocalRuntime } from './runtime';

function fail(message: string): never {
  console.error(`countersign: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const started = Date.now();
  const portText = process.env.PORT ?? '8787';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) fail(`PORT must be a port number, not "${portText}"`);
  const retryText = process.env.COUNTERSIGN_LOCAL_RETRY_SCALE;
  const retryDelayScale = retryText ? Number(retryText) : undefined;
  if (retryDelayScale !== undefined && !(retryDelayScale > 0 && retryDelayScale <= 1)) {
    fail(`COUNTERSIGN_LOCAL_RETRY_SCALE must be a number above 0 and at most 1, not "${retryText}"`);
  }
  let logs: ReturnType<typeof logSettingsFromEnv>;
  try {
    logs = logSettingsFromEnv(process.env);
  } catch (err) {
    fail((err as Error).message);
  }
  const file = configPath();
  const dataDir = resolve(process.env.COUNTERSIGN_DATA_DIR || '.countersign');

  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      config: loadConfigFile(file),
      configFile: file,
      dataDir,
      port,
      accessLog: process.env.COUNTERSIGN_ACCESS_LOG !== '0',
      // The bundles the stack builds, unless the TypeScript sources are asked for (fast edit-and-retry).
      code: process.env.COUNTERSIGN_LOCAL_SOURCE === '1' ? 'source' : 'bundle',
      ...(process.env.COUNTERSIGN_BUNDLE_CACHE ? { bundleCache: resolve(process.env.COUNTERSIGN_BUNDLE_CACHE) } : {}),
      // For tests of failure handling only: never on unless asked for.
      ...(process.env.COUNTERSIGN_FAULT_INJECTION === '1' ? { faults: new LocalFaults() } : {}),
      // For tests of failure handling only: the workflow's retries come sooner; its deadlines do not move.
      ...(retryDelayScale !== undefined ? { retryDelayScale } : {}),
      ...(logs.level || logs.sampleRate !== undefined ? { logs } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PortInUseError || err instanceof LocalStartError) fail(err.message);
    throw err;
  }

  console.log(`Countersign local mode is up in ${((Date.now() - started) / 1000).toFixed(1)} s
  API        ${runtime.url}
  inbox      ${runtime.url}/_local/inbox
  health     ${runtime.url}/healthz
  config     ${file}
  data       ${dataDir}
  functions  ${runtime.code}
  endpoints  dynamodb ${runtime.endpoints.dynamodb}  kms ${runtime.endpoints.kms}  sfn ${runtime.endpoints.sfn}  sesv2 ${runtime.endpoints.ses}  slack ${runtime.endpoints.slack}  secretsmanager ${runtime.endpoints.secretsManager}
Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`Stopping (${signal})...`);
    // Everything is persisted as it happens; closing only releases ports and flushes the store.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    runtime.close().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error('countersign: error while stopping:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('countersign: local mode failed to start:', err);
  process.exit(1);
});
