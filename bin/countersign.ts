#!/usr/bin/env node
/**
 * CDK app entry (`cdk synth`, `cdk deploy`): reads the policy file (COUNTERSIGN_CONFIG, default
 * countersign.config.yaml) and builds the stack for AWS. Secrets must be Secrets Manager ARNs here: `env:NAME` is
 * for local mode, which synthesizes through local/synth.ts instead. COUNTERSIGN_LOG_LEVEL and
 * COUNTERSIGN_LOG_SAMPLE_RATE set the functions' log level and debug sampling (README "Logs").
 */
import { Annotations } from 'aws-cdk-lib';
import { configPath, loadConfigFile } from '../lambdas/adapters/config-file';
import { logSettingsFromEnv } from '../lambdas/adapters/environment';
import { assertDeployableSecrets, ConfigError } from '../lambdas/core/config';
import { buildApp } from '../lib/app';

try {
  const file = configPath();
  const config = loadConfigFile(file);
  assertDeployableSecrets(config, file);
  let logs: ReturnType<typeof logSettingsFromEnv>;
  try {
    // COUNTERSIGN_LOG_LEVEL, COUNTERSIGN_LOG_SAMPLE_RATE: README "Logs".
    logs = logSettingsFromEnv(process.env);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  const { app, stack } = buildApp({ config, target: 'aws', logs });
  // Without credentials the CDK CLI assumes us-east-1 and no account: the template then names us-east-1 (the SES
  // identities' ARNs, the table's replica, the asset bucket). `cdk deploy` synthesizes again for the real account.
  if (!process.env.CDK_DEFAULT_ACCOUNT) {
    Annotations.of(stack).addWarningV2(
      'countersign:offline-synth',
      `synthesized without AWS credentials, so for region ${process.env.CDK_DEFAULT_REGION ?? 'us-east-1'} and no account: this template checks the policy and the stack, and is not for deploying (cdk deploy synthesizes again with your credentials' account and region)`,
    );
  }
  app.synth();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
