/**
 * The validated config the functions run with. The stack inlines it at bundling time (esbuild `define` of
 * COUNTERSIGN_CONFIG_JSON), so it ships with the code; local mode sets the same variable from the file.
 */
import { type Config, configSchema } from '../core/config';
import { type IdentityDirectory, identityDirectory } from '../core/identity';
import type { Policy } from '../core/ports';
import * as z from '../core/zod';
import { policyVersion } from './policy-version';

export { policyVersion };

let cached: { text: string; config: Config } | undefined;

export function deployedConfig(): Config {
  const text = process.env.COUNTERSIGN_CONFIG_JSON;
  if (!text) throw new Error('COUNTERSIGN_CONFIG_JSON is not set');
  if (cached?.text !== text) cached = { text, config: z.parse(configSchema, JSON.parse(text)) };
  return cached.config;
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
