/**
 * The validated config the functions run with. The stack inlines it at bundling time (esbuild `define` of
 * COUNTERSIGN_CONFIG_JSON), so it ships with the code; local mode sets the same variable from the file.
 */
import { configSchema, type Config } from '../core/config';

let cached: { text: string; config: Config } | undefined;

export function deployedConfig(): Config {
  const text = process.env.COUNTERSIGN_CONFIG_JSON;
  if (!text) throw new Error('COUNTERSIGN_CONFIG_JSON is not set');
  if (cached?.text !== text) cached = { text, config: configSchema.parse(JSON.parse(text)) };
  return cached.config;
}
