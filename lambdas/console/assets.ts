/**
 * The console's scripts (`GET /console/assets/{name}`), served by the function itself: no CDN, no other host.
 * Chart.js is its npm package's UMD build, inlined into the bundle as text (esbuild's `with { type: 'text' }`, through
 * BUNDLING.alias in lib/bundling.ts); the chart script is the console's own.
 */
import chartLibrary from 'countersign-chart-library' with { type: 'text' };
import type { HttpEvent, HttpResult } from '../adapters/http';
import { CHARTS_SCRIPT } from './chart-script';

/** Where a page loads the chart library, and the script that draws its charts with it (in this order). */
export const CHART_SCRIPTS: readonly string[] = ['/console/assets/chart.umd.min.js', '/console/assets/console-charts.js'];

/** Asset name -> its JavaScript. */
export const CONSOLE_ASSETS: Readonly<Record<string, string>> = {
  'chart.umd.min.js': chartLibrary,
  'console-charts.js': CHARTS_SCRIPT,
};

export async function serveAsset(event: HttpEvent): Promise<HttpResult> {
  const name = event.pathParameters?.name ?? '';
  const source = Object.hasOwn(CONSOLE_ASSETS, name) ? CONSOLE_ASSETS[name] : undefined;
  if (source === undefined)
    return {
      statusCode: 404,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'x-frame-options': 'DENY',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
      body: 'Not found',
    };
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    },
    body: source,
  };
}
