/** The console's scripts (`GET /console/assets/{name}`), served by the function itself: no CDN, no other host. */
import type { HttpEvent, HttpResult } from '../adapters/http';

/** Asset name -> its JavaScript. */
export const CONSOLE_ASSETS: Readonly<Record<string, string>> = {};

export async function serveAsset(event: HttpEvent): Promise<HttpResult> {
  const name = event.pathParameters?.name ?? '';
  const source = Object.hasOwn(CONSOLE_ASSETS, name) ? CONSOLE_ASSETS[name] : undefined;
  if (source === undefined)
    return { statusCode: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, body: 'Not found' };
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
