/**
 * Files the functions import as text (`import x from '<name>' with { type: 'text' }`, which esbuild inlines as a
 * string), by the name they import them by, with their paths from the repository's root: the console's chart
 * library, Chart.js's UMD build (its package's exports map has no entry for that file). The bundles resolve them
 * through BUNDLING.alias (./bundling.ts), vitest through vitest.config.ts, and local mode's TypeScript
 * sources through local/text-imports.ts. No imports: vitest's config and local mode load this without the CDK.
 */
export const TEXT_IMPORTS = {
  'countersign-chart-library': './node_modules/chart.js/dist/chart.umd.min.js',
} as const;
