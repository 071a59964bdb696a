/**
 * The validated config the functions run with. The stack inlines it at bundling time (esbuild `define` of
 * COUNTERSIGN_CONFIG_JSON), so it ships with the code; local mode sets the same variable from the file.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { type Config, configSchema, shippedConfig } from '../core/config';
import { type IdentityDirectory, identityDirectory } from '../core/identity';
import type { Policy } from '../core/ports';

let cached: { text: string; config: Config } | undefined;

export function deployedConfig(): Config {
  const text = process.env.COUNTERSIGN_CONFIG_JSON;
  if (!text) throw new Error('COUNTERSIGN_CONFIG_JSON is not set');
  if (cached?.text !== text) cached = { text, config: configSchema.parse(JSON.parse(text)) };
  return cached.config;
}

const versions = new WeakMap<Config, string>();

/** The policy version recorded with each decision: SHA-256 of the canonical JSON of the config (local API keys left out). */
export function policyVersion(config: Config): string {
  let version = versions.get(config);
  if (!version) {
    version = createHash('sha256')
      .update(canonicalize(shippedConfig(config)) ?? '')
      .digest('hex');
    versions.set(config, version);
  }
  return version;
}

/** Who is who in the deployed config: every identity question a function asks goes here. */
export function deployedDirectory(): IdentityDirectory {
  return identityDirectory(deployedConfig());
}

/** The deployed policy as the use cases see it (core/ports.ts `Policy`). */
export const deployedPolicy: Policy = {
  config: deployedConfig,
  directory: deployedDirectory,
  version: () => policyVersion(deployedConfig()),
};
