import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';

/** A text import resolves to its file with this query: an id of its own, which vitest loads through the plugin. */
const TEXT_QUERY = '?countersign-text';

/**
 * The bundles' text imports (lib/text-imports.ts, which esbuild inlines as strings; written again here, since an
 * import of it would need an extension vitest's config loader and tsc do not agree on, and
 * test/unit/console-audit.test.ts checks they agree): a file imported so loads as a module whose default export
 * is its text.
 */
export const TEXT_IMPORTS: Readonly<Record<string, string>> = {
  'countersign-chart-library': './node_modules/chart.js/dist/chart.umd.min.js',
};

function textImports(): Plugin {
  return {
    name: 'countersign-text-imports',
    enforce: 'pre',
    resolveId(source) {
      const path = Object.hasOwn(TEXT_IMPORTS, source) ? TEXT_IMPORTS[source] : undefined;
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
    // Four files at a time on 2 cores (vitest's default would be one): local-mode files spend most of their time
    // waiting on timeouts, schedules and child processes, not on the CPU (three workers kept it about 80% busy).
    maxWorkers: 4,
    // Tests run on the laptop's Node.js 20; the deployed functions run nodejs22.x.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
