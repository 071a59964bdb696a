/**
 * Chart.js's UMD build as text (`import chartLibrary from 'countersign-chart-library' with { type: 'text' }`):
 * esbuild resolves the name through BUNDLING.alias (lib/bundling.ts) and inlines the file as a string;
 * vitest.config.ts does the same for tests.
 */
declare module 'countersign-chart-library' {
  const source: string;
  export default source;
}
