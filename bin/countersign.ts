#!/usr/bin/env node
/** CDK app entry: reads the policy file (COUNTERSIGN_CONFIG, default countersign.config.yaml) and builds the stack. */
import { ConfigError } from '../lambdas/core/config';
import { loadConfigFile } from '../lambdas/adapters/config-file';
import { buildApp } from '../lib/app';

try {
  buildApp({ config: loadConfigFile() }).app.synth();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
