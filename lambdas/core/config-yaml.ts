/**
 * The config file's text, parsed as YAML and validated (./config.ts). Only what reads the file imports this: the CLI,
 * the stack's app, local mode, the tests. The functions get the config already validated (inlined at build time,
 * adapters/deployed-config.ts), so the YAML parser stays out of their bundles.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { type Config, ConfigError, configFromDocument } from './config';

/** Parses and validates the config file's text; throws ConfigError naming every bad field. */
export function parseConfig(text: string, source = 'config'): Config {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const at = err.linePos?.[0];
      throw new ConfigError(source, [{ path: at ? `line ${at.line}, column ${at.col}` : '', message: err.message.split('\n')[0] ?? err.message }]);
    }
    // The YAML library reports an alias to a missing anchor, or an alias bomb, with a plain Error (ReferenceError).
    throw new ConfigError(source, [{ path: '', message: `not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` }]);
  }
  return configFromDocument(document, source);
}
