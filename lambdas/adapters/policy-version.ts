/**
 * The policy version recorded with each decision. A module of its own: `canonicalize` is CommonJS, which esbuild
 * keeps in a bundle once imported, so only the functions that record decisions import it (through
 * ./deployed-config.ts's `deployedPolicy`), and a function that never reads the config leaves deployed-config.ts out.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { type Config, shippedConfig } from '../core/config';

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
