/** Reads the config file named by COUNTERSIGN_CONFIG (default: countersign.config.yaml in the working directory). */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type Config, ConfigError } from '../core/config';
import { parseConfig } from '../core/config-yaml';

export const DEFAULT_CONFIG_FILE = 'countersign.config.yaml';

export function configPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const chosen = env.COUNTERSIGN_CONFIG || DEFAULT_CONFIG_FILE;
  return isAbsolute(chosen) ? chosen : resolve(cwd, chosen);
}

export function loadConfigFile(path = configPath()): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(path, [{ path: '', message: code === 'ENOENT' ? 'file not found (set COUNTERSIGN_CONFIG)' : `cannot read: ${code}` }]);
  }
  return parseConfig(text, path);
}
