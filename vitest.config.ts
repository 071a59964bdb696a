import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';

/**
 * The bundles' text imports (`import x from '…' with { type: 'text' }`, which esbuild inlines as a string): the
 * same aliases as BUNDLING.alias in lib/countersign-function.ts (not imported here, which would load the CDK into
 * every run; test/unit/console-audit.test.ts checks they agree), and a file imported as text loads as a module whose
 * default export is its text. Only the console's chart library is imported so.
 */
export const TEXT_ALIASES: Readonly<Record<string, string>> = {
  'countersign-chart-library': './node_modules/chart.js/dist/chart.umd.min.js',
};
/** A text import resolves to its file with this query: an id of its own, which vitest loads through the plugin. */
const TEXT_QUERY = '?countersign-text';

function textImports(): Plugin {
  return {
    name: 'countersign-text-imports',
    enforce: 'pre',
    resolveId(source) {
      const path = Object.hasOwn(TEXT_ALIASES, source) ? TEXT_ALIASES[source] : undefined;
      return path === undefined ? undefined : `${join(import.meta.dirname, path)}${TEXT_QUERY}`;
    },
    load(id) {
      return id.endsWith(TEXT_QUERY) ? `export default ${JSON.stringify(readFileSync(id.slice(0, -TEXT_QUERY.length), 'utf8'))};` : undefined;
    },
  };
}

export default defineConfig({
  plugins: [textImports()],
  test: {
    include: ['test/**/*.test.ts'],
    // Text imports resolve into node_modules: run them through the plugin, not Node's loader.
    server: { deps: { inline: [/[?&]countersign-text$/] } },
    // One local mode with the default policy, shared by the files that need nothing else (see test/local/harness.ts).
    globalSetup: ['test/global-setup.ts'],
    // Local-mode tests start real servers and synthesize the CDK app; give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time even on 2 cores (vitest's default would be one): local-mode files spend most of their time
    // waiting on timeouts, schedules and child processes, not on the CPU.
    maxWorkers: 2,
    // Tests run on the laptop's Node.js 20; the deployed functions run nodejs22.x.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
