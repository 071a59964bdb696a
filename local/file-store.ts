/** Small JSON persistence for the local endpoints: atomic writes so a crash mid-write never leaves a torn file. */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function writeJsonAtomic(path: string, value: unknown, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 1), { mode });
  renameSync(tmp, path);
}

export function readJson<T = unknown>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Every `*.json` document in `dir` (none if the folder does not exist yet). Leftover temp files are removed. */
export function readJsonDir<T = unknown>(dir: string): T[] {
  if (!existsSync(dir)) return [];
  const out: T[] = [];
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.tmp')) {
      rmSync(join(dir, name), { force: true });
      continue;
    }
    if (name.endsWith('.json')) out.push(JSON.parse(readFileSync(join(dir, name), 'utf8')) as T);
  }
  return out;
}
