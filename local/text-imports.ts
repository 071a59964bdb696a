/**
 * `node --import tsx --import local/text-imports.ts`: lets local mode's TypeScript sources import files as text, as
 * the bundles do (lib/text-imports.ts), by registering ./text-import-hooks.mjs with the files' URLs.
 */
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TEXT_IMPORTS } from '../lib/text-imports';

const root = join(import.meta.dirname, '..');
register('./text-import-hooks.mjs', import.meta.url, {
  data: { aliases: Object.fromEntries(Object.entries(TEXT_IMPORTS).map(([name, path]) => [name, pathToFileURL(join(root, path)).href])) },
});
