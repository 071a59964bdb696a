/**
 * The function bundles local mode runs: the assets `cdk synth` builds for the stack (esbuild through NodejsFunction,
 * with the policy inlined). Building them takes seconds, so they are cached under node_modules/.cache/countersign-local
 * (or COUNTERSIGN_BUNDLE_CACHE), in two kinds of entry:
 *
 * - a code entry (`code-<key>`) per code version, keyed by everything that goes into the bundles except the policy:
 *   the functions' and constructs' sources, the lockfile and build settings. It is the cloud assembly of one real
 *   `cdk synth` with bundling, for whichever policy first needed that code (its reference policy), and records how
 *   esbuild printed that policy into the bundles: one string literal (the stack's `define`, see `bundleDefines`).
 * - a policy entry (`<key>`) per code version and policy: the template synthesized for the policy and each
 *   function's bundle for it, which is the code entry's bundle with the reference policy's literal replaced by this
 *   policy's, printed as esbuild prints it, and the source map's columns after it moved by the difference. That is
 *   byte for byte the bundle `cdk synth` builds for the policy (test/local/bundles.test.ts proves it against a real
 *   synth), at the cost of a synth without bundling.
 *
 * A start whose policy entry is cached builds and synthesizes nothing. A new policy of a known code version takes a
 * synth without bundling, unless the code entry keeps a template synthesized for a policy with the same channels,
 * auth and operations (what the stack reads of a policy besides the bundles): then the entry is made in the local
 * mode process itself, with no CDK loaded (`deriveBundles`). New code takes one real bundling synth. When the reference literal cannot be located
 * exactly (not found exactly once in a bundle whose sources read the config, or found in one whose sources never
 * do), the code entry is not kept and every policy is built by a bundling synth of its own, as `cdk synth` would.
 * Builds run in a child process (./build-bundles.ts), so CDK's and esbuild's output stays out of local mode's and
 * the servers keep answering while a reload rebuilds.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import canonicalize from 'canonicalize';
import { type Config, shippedConfig } from '../lambdas/core/config';
import { BUNDLING, bundleDefines } from '../lib/bundling';
import type { CfnTemplate } from './cfn';
import type { LocalFunction } from './synth';

/** The repository (as lib/countersign-function.ts's REPO_ROOT; not imported, so a cache hit never loads the CDK). */
export const REPO_ROOT = join(import.meta.dirname, '..');

export const BUNDLE_CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'countersign-local');

/** Bump when what a cache entry holds changes shape. */
const FORMAT = 'countersign-local-bundles 2';
/** The manifest of a policy entry: each function's bundle (relative to the entry) and source (to the repository). */
const MANIFEST = 'functions.json';
/** The synthesized template, as local mode reads it. */
const TEMPLATE = 'template.json';
/** The manifest of a code entry (see `CodeManifest`). */
const CODE_MANIFEST = 'code.json';
/** In a code entry: the templates synthesized with its code, by `templateKey`, each with its functions. */
const TEMPLATES = 'templates';
/** The bundle's file in each function's folder (NodejsFunction's CommonJS output) and its source map. */
const BUNDLE_FILE = 'index.js';
const MAP_FILE = 'index.js.map';

interface Manifest {
  readonly functions: Record<string, { readonly bundle: string; readonly path: string; readonly entry: string }>;
}

/** The bundles of a code entry, built for its reference policy. */
interface CodeManifest {
  /** The reference policy's string literal as esbuild printed it into the bundles; null when it cannot be replaced. */
  readonly literal: string | null;
  /** Logical id -> the function's asset folder (relative to the entry) and whether its bundle holds the literal. */
  readonly functions: Record<string, { readonly dir: string; readonly inlined: boolean }>;
}

/** Entries kept however old (most recently used first); older ones go once unused for an hour. */
const KEEP = 12;
const STALE_MS = 60 * 60 * 1000;

export interface LocalBundles {
  readonly key: string;
  /** The cache entry. */
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

/** The cache key of the code: SHA-256 over the build's inputs, whatever the policy. */
export function codeKey(root = REPO_ROOT): string {
  const hash = createHash('sha256').update(`${FORMAT}\n`);
  const files = [...INPUT_DIRS.flatMap((dir) => walk(join(root, dir))), ...INPUT_FILES.map((f) => join(root, f)).filter((f) => existsSync(f))].sort();
  for (const file of files) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 32);
}

/** The cache key of the bundles for `config`: SHA-256 over the code's key and the policy the bundles inline. */
export function bundleKey(config: Config, root = REPO_ROOT): string {
  return policyKey(codeKey(root), config);
}

function policyKey(code: string, config: Config): string {
  // As the stack inlines it (lib/countersign.ts): the config without the local API keys.
  return createHash('sha256')
    .update(`${FORMAT}\n${code}\n`)
    .update(JSON.stringify(shippedConfig(config)))
    .digest('hex')
    .slice(0, 32);
}

/**
 * What of the policy the template depends on beyond the bundles: the stack reads `channels`, `auth` and `operations`
 * (lib/countersign.ts: SES identities, secrets, alarm subscriptions); everything else reaches the template only
 * through the bundles' `define`, and so only through the assets' hashes, which local mode never reads.
 */
export function templateKey(config: Config): string {
  const { channels, auth, operations } = config;
  return createHash('sha256')
    .update(`${FORMAT}\n`)
    .update(canonicalize({ channels, auth, operations: operations ?? null })!)
    .digest('hex')
    .slice(0, 32);
}

/** A template a code entry keeps, with its functions as a policy entry's manifest names them. */
interface KeptTemplate {
  readonly template: CfnTemplate;
  readonly functions: Manifest['functions'];
}

function keepTemplate(codeDir: string, config: Config, template: CfnTemplate, functions: ReadonlyMap<string, LocalFunction>): void {
  const kept: KeptTemplate = { template, functions: manifestOf(functions).functions };
  const dir = join(codeDir, TEMPLATES);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${templateKey(config)}.json`);
  const writing = `${file}.${randomBytes(6).toString('hex')}`;
  writeFileSync(writing, JSON.stringify(kept));
  renameSync(writing, file);
}

function manifestOf(functions: ReadonlyMap<string, LocalFunction>): Manifest {
  const manifest: Manifest = { functions: {} };
  for (const fn of functions.values()) {
    manifest.functions[fn.logicalId] = { bundle: `${fn.logicalId}/${BUNDLE_FILE}`, path: fn.path, entry: relative(REPO_ROOT, fn.entry) };
  }
  return manifest;
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
 * The bundles for `config`: from the cache, or built now in a child process. Rejects with the build's own output
 * when it fails.
 */
export async function localBundles(config: Config, cacheDir = BUNDLE_CACHE): Promise<LocalBundles> {
  const code = codeKey();
  const key = policyKey(code, config);
  const cached = cachedBundles(key, cacheDir);
  if (cached) return cached;
  if (!(await deriveBundles(config, cacheDir, code))) await buildInChild(config, cacheDir);
  const built = cachedBundles(key, cacheDir);
  if (!built) throw new Error(`the bundle build finished but left no complete bundles under ${join(cacheDir, key)}`);
  return { ...built, built: true };
}

/**
 * Makes the policy entry for `config` in this process, with no CDK loaded and no synth, when the code entry is cached,
 * its literal replaceable, and it keeps a template for this policy's `templateKey` (a policy with the same channels,
 * auth and operations was built before): that template is the one a synth would give but for the assets' hashes (as
 * test/local/bundles.test.ts checks against a real synth), and the bundles are the code entry's with this policy's
 * literal, as `buildBundles` makes them. Answers false when it cannot.
 */
export async function deriveBundles(config: Config, cacheDir: string, code = codeKey()): Promise<boolean> {
  const codeDir = join(cacheDir, `code-${code}`);
  const source = readCodeManifest(codeDir);
  if (!source?.literal) return false;
  let kept: KeptTemplate;
  try {
    kept = JSON.parse(readFileSync(join(codeDir, TEMPLATES, `${templateKey(config)}.json`), 'utf8')) as KeptTemplate;
  } catch {
    return false;
  }
  const literal = await printedLiteral(bundleDefines(config));
  if (literal === undefined) return false;
  const functions = new Map(
    Object.entries(kept.functions).map(([id, fn]): [string, LocalFunction] => [id, { logicalId: id, path: fn.path, entry: join(REPO_ROOT, fn.entry) }]),
  );
  touchBundles(codeDir);
  writePolicyEntry(cacheDir, policyKey(code, config), { dir: codeDir, manifest: source }, functions, kept.template, { from: source.literal, to: literal });
  pruneBundleCache(cacheDir, [policyKey(code, config), `code-${code}`]);
  return true;
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

/** How `buildBundles` made a policy entry. */
export interface BundleBuild {
  /** The policy entry. */
  readonly dir: string;
  /** `bundled`: a synth with bundling (new code, or a code entry that cannot be reused); `replaced`: from the code entry. */
  readonly how: 'bundled' | 'replaced';
}

/**
 * Builds the bundles for `config` into the cache (in this process: CDK prints as it bundles). With the code's entry
 * cached, the template comes from a synth without bundling and each bundle from the code entry's, with this policy's
 * literal in place of the reference one; otherwise a synth with bundling builds them, and its assembly becomes the
 * code entry. Entries are written into fresh folders and renamed into place whole, so a reader never sees half an
 * entry; entries live side by side, so the source maps' relative paths stay right when a bundle is copied.
 */
export async function buildBundles(config: Config, cacheDir = BUNDLE_CACHE): Promise<BundleBuild> {
  const code = codeKey();
  const key = policyKey(code, config);
  mkdirSync(cacheDir, { recursive: true });
  const { synthesizeForLocal } = await import('./synth');
  const literal = await printedLiteral(bundleDefines(config));
  const codeDir = join(cacheDir, `code-${code}`);
  const reusable = literal === undefined ? undefined : readCodeManifest(codeDir);

  let source: { dir: string; manifest: CodeManifest };
  let template: CfnTemplate;
  let functions: ReadonlyMap<string, LocalFunction>;
  let assembly: string | undefined;
  if (reusable?.literal) {
    ({ template, functions } = synthesizeForLocal(config, { bundle: false }));
    source = { dir: codeDir, manifest: reusable };
    touchBundles(codeDir);
  } else {
    assembly = join(cacheDir, `.build-${randomBytes(6).toString('hex')}`);
    const synthesis = synthesizeForLocal(config, { bundle: true, outdir: assembly });
    ({ template, functions } = synthesis);
    const manifest = codeManifest(assembly, synthesis.functions, literal);
    writeFileSync(join(assembly, CODE_MANIFEST), JSON.stringify(manifest, null, 2));
    source = { dir: assembly, manifest };
  }

  // The template kept for the next policy with the same channels, auth and operations (`deriveBundles`).
  keepTemplate(assembly ?? codeDir, config, template, functions);
  const replace = !assembly && source.manifest.literal !== literal ? { from: source.manifest.literal!, to: literal! } : undefined;
  const dir = writePolicyEntry(cacheDir, key, source, functions, template, replace);
  if (assembly) {
    // The code entry, for the next policy; unless its literal cannot be replaced (then each policy is bundled).
    if (source.manifest.literal !== null) placeEntry(assembly, codeDir);
    else rmSync(assembly, { recursive: true, force: true });
  }
  pruneBundleCache(cacheDir, [key, `code-${code}`]);
  return { dir, how: assembly ? 'bundled' : 'replaced' };
}

/**
 * Writes the policy entry `key`: each function's bundle from `source` (with `replace` in the bundles that inline the
 * policy), the template and the manifest, into a fresh folder renamed into place whole. Answers the entry's folder.
 */
function writePolicyEntry(
  cacheDir: string,
  key: string,
  source: { readonly dir: string; readonly manifest: CodeManifest },
  functions: ReadonlyMap<string, LocalFunction>,
  template: CfnTemplate,
  replace: { from: string; to: string } | undefined,
): string {
  const building = join(cacheDir, `.build-${randomBytes(6).toString('hex')}`);
  mkdirSync(building);
  for (const fn of functions.values()) {
    const from = source.manifest.functions[fn.logicalId];
    if (!from) throw new Error(`function ${fn.path}: no bundle for it in ${source.dir}`);
    // A bundle built for this policy (or one that never reads it) is copied as it is.
    copyBundle(join(source.dir, from.dir), join(building, fn.logicalId), from.inlined ? replace : undefined);
  }
  writeFileSync(join(building, TEMPLATE), JSON.stringify(template));
  writeFileSync(join(building, MANIFEST), JSON.stringify(manifestOf(functions), null, 2));
  const dir = join(cacheDir, key);
  placeEntry(building, dir);
  return dir;
}

function placeEntry(building: string, dir: string): void {
  try {
    renameSync(building, dir);
  } catch {
    // Another start built the same key meanwhile: theirs is as good.
    rmSync(building, { recursive: true, force: true });
  }
}

function readCodeManifest(dir: string): CodeManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, CODE_MANIFEST), 'utf8')) as CodeManifest;
    if (Object.values(manifest.functions).some((fn) => !existsSync(join(dir, fn.dir, BUNDLE_FILE)))) return undefined;
    return manifest;
  } catch {
    return undefined;
  }
}

/**
 * The string literal esbuild prints for the policy's `define`, with the functions' build settings: esbuild picks
 * the quotes (and so the escapes) by the text, so it is asked rather than guessed. Undefined unless the stack
 * inlines exactly one value and it prints as one line of ASCII (as esbuild's default ASCII charset prints strings).
 */
export async function printedLiteral(defines: Readonly<Record<string, string>>): Promise<string | undefined> {
  const keys = Object.keys(defines);
  if (keys.length !== 1) return undefined;
  const { transform } = await import('esbuild');
  // As NodejsFunction runs esbuild: for Node.js (which, for one, leaves `</script>` unescaped), with the stack's settings.
  const { code } = await transform(`x(${keys[0]});`, {
    define: { ...defines },
    platform: 'node',
    minify: BUNDLING.minify,
    target: BUNDLING.target,
    format: BUNDLING.format,
  });
  const literal = /^x\((.*)\);\n$/s.exec(code)?.[1];
  return literal && /^(['"`]).*\1$/s.test(literal) && /^[\x20-\x7e]+$/.test(literal) ? literal : undefined;
}

/**
 * What a bundling synth's assembly offers as a code entry: each function's asset, and whether its bundle holds the
 * policy's literal. The literal is kept only if every bundle holds it exactly once when its sources read the define
 * and not at all when none does (then the bundle is the same whatever the policy): anything else, e.g. esbuild
 * folding the value into other code, could not be replaced exactly.
 */
function codeManifest(assembly: string, functions: ReadonlyMap<string, LocalFunction>, literal: string | undefined): CodeManifest {
  const name = 'COUNTERSIGN_CONFIG_JSON';
  let replaceable = literal !== undefined;
  const entries: Record<string, { dir: string; inlined: boolean }> = {};
  for (const fn of functions.values()) {
    if (!fn.asset) throw new Error(`function ${fn.path}: no bundled asset`);
    const file = join(fn.asset, BUNDLE_FILE);
    if (!existsSync(file)) throw new Error(`function ${fn.path}: its asset has no ${BUNDLE_FILE}`);
    let inlined = false;
    if (literal !== undefined) {
      const found = occurrences(readFileSync(file), Buffer.from(literal));
      const reads = sourcesOf(fn.asset).some((src) => readFileSync(src, 'utf8').includes(name));
      inlined = found === 1;
      if (found !== (reads ? 1 : 0)) replaceable = false;
    }
    entries[fn.logicalId] = { dir: relative(assembly, fn.asset), inlined };
  }
  return { literal: replaceable ? literal! : null, functions: entries };
}

/** The files a bundle was built from, as its source map names them (resolved where the map lies). */
function sourcesOf(assetDir: string): string[] {
  const map = join(assetDir, MAP_FILE);
  if (!existsSync(map)) throw new Error(`${assetDir}: no source map, so the bundle's sources are unknown`);
  const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
  return sources.map((src) => resolve(assetDir, src)).filter((src) => existsSync(src) && statSync(src).isFile());
}

function occurrences(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) count += 1;
  return count;
}

/** Copies a function's asset folder, replacing the policy's literal in its bundle (and fixing its source map) if asked. */
function copyBundle(fromDir: string, toDir: string, replace: { from: string; to: string } | undefined): void {
  mkdirSync(toDir, { recursive: true });
  for (const name of readdirSync(fromDir)) {
    if (replace && (name === BUNDLE_FILE || name === MAP_FILE)) continue;
    copyFileSync(join(fromDir, name), join(toDir, name));
  }
  if (!replace) return;
  const mapFile = join(fromDir, MAP_FILE);
  const replaced = replaceLiteral(
    readFileSync(join(fromDir, BUNDLE_FILE)),
    existsSync(mapFile) ? readFileSync(mapFile, 'utf8') : undefined,
    replace.from,
    replace.to,
  );
  writeFileSync(join(toDir, BUNDLE_FILE), replaced.code);
  if (replaced.map !== undefined) writeFileSync(join(toDir, MAP_FILE), replaced.map);
}

/**
 * `code` with the one occurrence of the literal `from` replaced by `to` (both single-line ASCII), and its source map
 * with the generated columns after it on its line moved by the difference in length. Nothing else in a map depends
 * on the generated text: other lines are untouched, and a mapping inside the literal would mean it is not one token.
 */
export function replaceLiteral(code: Buffer, map: string | undefined, from: string, to: string): { code: Buffer; map?: string } {
  const needle = Buffer.from(from);
  const at = code.indexOf(needle);
  if (at < 0 || code.indexOf(needle, at + 1) >= 0) throw new Error('the policy literal is not in the bundle exactly once');
  const out = Buffer.concat([code.subarray(0, at), Buffer.from(to), code.subarray(at + needle.length)]);
  if (map === undefined) return { code: out };
  const lineStart = at === 0 ? 0 : code.lastIndexOf(0x0a, at - 1) + 1;
  let line = 0;
  for (let i = code.indexOf(0x0a); i >= 0 && i < at; i = code.indexOf(0x0a, i + 1)) line += 1;
  // Source map columns count UTF-16 code units.
  const column = code.subarray(lineStart, at).toString('utf8').length;
  const mappings = (JSON.parse(map) as { mappings: string }).mappings;
  const lines = mappings.split(';');
  if (line >= lines.length) return { code: out, map };
  lines[line] = shiftColumns(lines[line]!, column, column + from.length, to.length - from.length);
  const before = JSON.stringify(mappings);
  const index = map.indexOf(before);
  if (index < 0 || map.indexOf(before, index + 1) >= 0) throw new Error("the source map's mappings are not where expected");
  return { code: out, map: map.slice(0, index) + JSON.stringify(lines.join(';')) + map.slice(index + before.length) };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** One line of mappings with each segment's generated column at or after `end` moved by `delta`. */
function shiftColumns(line: string, start: number, end: number, delta: number): string {
  if (line === '') return line;
  let previousIn = 0;
  let previousOut = 0;
  return line
    .split(',')
    .map((segment) => {
      const { value, length } = decodeVlq(segment);
      const column = previousIn + value;
      previousIn = column;
      if (column > start && column < end) throw new Error('a source mapping points inside the policy literal');
      const moved = column >= end ? column + delta : column;
      const encoded = encodeVlq(moved - previousOut) + segment.slice(length);
      previousOut = moved;
      return encoded;
    })
    .join(',');
}

function decodeVlq(text: string): { value: number; length: number } {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < text.length; i += 1) {
    const digit = BASE64.indexOf(text[i]!);
    if (digit < 0) throw new Error(`invalid source map mapping "${text}"`);
    result += (digit & 31) * 2 ** shift;
    shift += 5;
    if ((digit & 32) === 0) return { value: result % 2 === 1 ? -Math.floor(result / 2) : result / 2, length: i + 1 };
  }
  throw new Error(`invalid source map mapping "${text}"`);
}

function encodeVlq(value: number): string {
  let rest = value < 0 ? -value * 2 + 1 : value * 2;
  let out = '';
  do {
    const digit = rest % 32;
    rest = Math.floor(rest / 32);
    out += BASE64[rest > 0 ? digit | 32 : digit];
  } while (rest > 0);
  return out;
}

/** Removes old cache entries: beyond the KEEP most recently used, those unused for an hour; and stale half-builds. */
export function pruneBundleCache(cacheDir = BUNDLE_CACHE, keep: readonly string[] = []): void {
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
    if (keep.includes(entry.name) || now - entry.usedAt < STALE_MS) continue;
    rmSync(join(cacheDir, entry.name), { recursive: true, force: true });
  }
}
