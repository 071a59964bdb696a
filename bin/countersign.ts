#!/usr/bin/env node
/**
 * CDK app entry (`cdk synth`, `cdk deploy`): reads the policy file (COUNTERSIGN_CONFIG, default
 * countersign.config.yaml) and builds the stack for AWS. Secrets must be Secrets Manager ARNs here: `env:NAME` is
 * for local mode, which synthesizes through local/synth.ts instead.
 */
import { assertDeployableSecrets, ConfigError } from '../lambdas/core/config';
import { configPath, loadConfigFile } from '../lambdas/adapters/config-file';
import { buildApp } from '../lib/app';

try {
  const file = configPath();
  const config = loadConfigFile(file);
  assertDeployableSecrets(config, file);
  buildApp({ config, target: 'aws' }).app.synth();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
