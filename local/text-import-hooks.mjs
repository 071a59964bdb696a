/**
 * Module hooks for local mode's TypeScript sources (COUNTERSIGN_LOCAL_SOURCE=1; ./text-imports.ts registers them):
 * what esbuild does for the bundles with BUNDLING.alias and `with { type: 'text' }`. A name of lib/text-imports.ts
 * resolves to its file, and a module imported with `type: 'text'` loads as `export default "<its text>"`.
 */
import { readFile } from 'node:fs/promises';

/** Import name -> file URL, from `initialize`. */
let aliases = {};

export function initialize(data) {
  aliases = data.aliases;
}

export async function resolve(specifier, context, next) {
  if (Object.hasOwn(aliases, specifier)) return { url: aliases[specifier], shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (context.importAttributes?.type !== 'text') return next(url, context);
  const text = await readFile(new URL(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
