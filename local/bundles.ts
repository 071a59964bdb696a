/**
 * The function bundles local mode runs: the assets `cdk synth` builds for the stack (esbuild through NodejsFunction,
 * with the policy inlined), taken from the cloud assembly as they are. Building them takes seconds, so they are
 * cached under node_modules/.cache/countersign-local by a key over everything that goes into them: the functions'
 * and constructs' sources, the lockfile and build settings, and the policy. A start whose key is cached builds
 * nothing. The build runs in a child process (./build-bundles.ts), so CDK's and esbuild's output stays out of local
 * mode's and the servers keep answering while a reload rebuilds.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Config } from '../lambdas/core/config';
import type { CfnTemplate } from './cfn';
import type { LocalFunction } from './synth';

/** The repository (as lib/countersign-function.ts's REPO_ROOT; not imported, so a cache hit never loads the CDK). */
export const REPO_ROOT = join(import.meta.dirname, '..');

export const BUNDLE_CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'countersign-local');

/** Bump when what a cache entry holds changes shape. */
const FORMAT = 'countersign-local-bundles 1';
/** The manifest of a cache entry: each function's bundle (relative to the entry) and source (to the repository). */
const MANIFEST = 'functions.json';
/** The synthesized template, as local mode reads it. */
const TEMPLATE = 'template.json';

interface Manifest {
  readonly functions: Record<string, { readonly bundle: string; readonly path: string; readonly entry: string }>;
}
/** Entries kept however old (most recently used first); older ones go once unused for an hour. */
const KEEP = 12;
const STALE_MS = 60 * 60 * 1000;

export interface LocalBundles {
  readonly key: string;
  /** The cache entry (a cloud assembly, built in place). */
  readonly dir: string;
  /** Logical id -> absolute path of the function's bundle (`index.js`). */
  readonly files: ReadonlyMap<string, string>;
  /** The template synthesized with them: a cache hit needs no synth. */
  readonly template: CfnTemplate;
  /** The template's Countersign functions. */
  readonly functions: ReadonlyMap<string, LocalFunction>;
  /** Whether this call built them (a cache miss). */
  readonly built: boolean;
}

/** What goes into the bundles: every file of these folders, and these files. */
const INPUT_DIRS = ['lambdas', 'lib'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'cdk.json', 'local/synth.ts', 'local/bundles.ts', 'local/build-bundles.ts'];

/** The cache key of the bundles for `config`: SHA-256 over the build's inputs and the policy they inline. */
export function bundleKey(config: Config, root = REPO_ROOT): string {
  const hash = createHash('sha256').update(`${FORMAT}\n`);
  const files = [...INPUT_DIRS.flatMap((dir) => walk(join(root, dir))), ...INPUT_FILES.map((f) => join(root, f)).filter((f) => existsSync(f))].sort();
  for (const file of files) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  // As the stack inlines it (lib/countersign.ts): the config without the local API keys.
  const { local: _local, ...deployed } = config;
  hash.update(JSON.stringify(deployed));
  return hash.digest('hex').slice(0, 32);
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : entry.isFile() ? [path] : [];
  });
}

/** The cached bundles under `key`, if complete; marks the entry used. */
export function cachedBundles(key: string, cacheDir = BUNDLE_CACHE): LocalBundles | undefined {
  const dir = join(cacheDir, key);
  let manifest: Manifest;
  let template: CfnTemplate;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
    template = JSON.parse(readFileSync(join(dir, TEMPLATE), 'utf8')) as CfnTemplate;
  } catch {
    return undefined;
  }
  const entries = Object.entries(manifest.functions);
  const files = new Map(entries.map(([id, fn]) => [id, join(dir, fn.bundle)]));
  if ([...files.values()].some((file) => !existsSync(file))) return undefined;
  const functions = new Map(entries.map(([id, fn]): [string, LocalFunction] => [id, { logicalId: id, path: fn.path, entry: join(REPO_ROOT, fn.entry) }]));
  touchBundles(dir);
  return { key, dir, files, template, functions, built: false };
}

/** Marks a cache entry used now (pruning keeps recently used entries). */
export function touchBundles(dir: string): void {
  const now = new Date();
  try {
    utimesSync(dir, now, now);
  } catch {
    // Pruned under a running local mode: its processes already hold their code.
  }
}

/**
 * The bundles for `config`: from the cache, or built now in a child process (CDK synth with bundling). Rejects with
 * the build's own output when it fails.
 */
export async function localBundles(config: Config, cacheDir = BUNDLE_CACHE): Promise<LocalBundles> {
  const key = bundleKey(config);
  const cached = cachedBundles(key, cacheDir);
  if (cached) return cached;
  await buildInChild(config, cacheDir);
  const built = cachedBundles(key, cacheDir);
  if (!built) throw new Error(`the bundle build finished but left no complete bundles under ${join(cacheDir, key)}`);
  return { ...built, built: true };
}

function buildInChild(config: Config, cacheDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/build-bundles.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      reject(new Error(`building the function bundles failed (${signal ?? `exit ${code}`}):\n${output.trim().split('\n').slice(-40).join('\n')}`));
    });
    child.stdin.end(JSON.stringify({ config, cacheDir }));
  });
}

/**
 * Builds the bundles for `config` into the cache (in this process: CDK prints as it bundles). The cloud assembly is
 * synthesized into a fresh folder and renamed into place whole, so a reader never sees half an entry, and the
 * source maps' relative paths stay right.
 */
export async function buildBundles(config: Config, cacheDir = BUNDLE_CACHE): Promise<string> {
  const key = bundleKey(config);
  mkdirSync(cacheDir, { recursive: true });
  const building = join(cacheDir, `.build-${randomBytes(6).toString('hex')}`);
  const { synthesizeForLocal } = await import('./synth');
  const { template, functions } = synthesizeForLocal(config, { bundle: true, outdir: building });
  const manifest: Manifest = { functions: {} };
  for (const fn of functions.values()) {
    const file = join(fn.asset!, 'index.js');
    if (!existsSync(file)) throw new Error(`function ${fn.path}: its asset has no index.js`);
    manifest.functions[fn.logicalId] = { bundle: relative(building, file), path: fn.path, entry: relative(REPO_ROOT, fn.entry) };
  }
  writeFileSync(join(building, TEMPLATE), JSON.stringify(template));
  writeFileSync(join(building, MANIFEST), JSON.stringify(manifest, null, 2));
  const dir = join(cacheDir, key);
  try {
    renameSync(building, dir);
  } catch {
    // Another start built the same key meanwhile: theirs is as good.
    rmSync(building, { recursive: true, force: true });
  }
  pruneBundleCache(cacheDir, key);
  return dir;
}

/** Removes old cache entries: beyond the KEEP most recently used, those unused for an hour; and stale half-builds. */
export function pruneBundleCache(cacheDir = BUNDLE_CACHE, keep?: string): void {
  let entries: Array<{ name: string; usedAt: number }>;
  try {
    entries = readdirSync(cacheDir).map((name) => ({ name, usedAt: statSync(join(cacheDir, name)).mtimeMs }));
  } catch {
    return;
  }
  const now = Date.now();
  const recent = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => b.usedAt - a.usedAt);
  const old = [...recent.slice(KEEP), ...entries.filter((e) => e.name.startsWith('.build-'))];
  for (const entry of old) {
    if (entry.name === keep || now - entry.usedAt < STALE_MS) continue;
    rmSync(join(cacheDir, entry.name), { recursive: true, force: true });
  }
}
