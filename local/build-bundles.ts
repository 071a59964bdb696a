/**
 * Builds local mode's function bundles for a policy into the bundle cache (see ./bundles.ts): from the code's cache
 * entry with a synth without bundling, or with a synth with bundling for new code. Local mode runs it as a child
 * process with `{ config, cacheDir }` as JSON on stdin; it exits 0 once the cache entry is in place.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../lambdas/core/config';
import { buildBundles } from './bundles';

const { config, cacheDir } = JSON.parse(readFileSync(0, 'utf8')) as { config: Config; cacheDir: string };
await buildBundles(config, cacheDir);
