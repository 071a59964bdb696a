/**
 * How the functions are bundled, with no CDK import: the constructs use it (./countersign-function.ts,
 * ./countersign.ts), and so do local mode's bundle cache (which makes a policy's bundles without loading the CDK when
 * it can) and the bench.
 */
import { type Config, shippedConfig } from '../lambdas/core/config';
import { TEXT_IMPORTS } from './text-imports';

/** How every function is bundled (the bench builds the same bundles to measure them). */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node22',
  format: 'cjs',
  /**
   * A package's ES module build before its CommonJS one (esbuild's default for Node.js is the reverse): esbuild can
   * leave out what a function never uses only from ES modules, so the SDK's clients, Smithy and zod shrink to the
   * parts the code reaches. Roughly a third off every bundle and its cold load (bench/bundles.ts measures both).
   */
  mainFields: ['module', 'main'],
  /**
   * Module replacements, as esbuild's `alias` (paths from the repository's root): the SDK's default credential chain
   * becomes its environment source alone, which is where Lambda puts a function's credentials
   * (lambdas/adapters/lambda-credentials.ts says why; about 130 KiB off every bundle). And the files imported as text
   * (./text-imports.ts): the console's chart library, which the console function serves itself.
   */
  alias: {
    '@aws-sdk/credential-provider-node': './lambdas/adapters/lambda-credentials.ts',
    ...TEXT_IMPORTS,
  },
} as const;

/**
 * What the stack inlines into every function's bundle (esbuild `define`): the validated config as
 * COUNTERSIGN_CONFIG_JSON (lambdas/adapters/deployed-config.ts), without the local API keys, which never leave the
 * laptop.
 */
export function bundleDefines(config: Config): Record<string, string> {
  return { 'process.env.COUNTERSIGN_CONFIG_JSON': JSON.stringify(JSON.stringify(shippedConfig(config))) };
}
