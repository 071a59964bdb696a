/**
 * Per function: the size of its bundle and its cold module-load time, next to an empty function's in the same run.
 * Bundles are built as the stack builds them (esbuild through NodejsFunction: see BUNDLING in
 * lib/countersign-function.ts); the load time is `require` of the bundle in a fresh `node --enable-source-maps`,
 * as Lambda's init does, the median of several fresh processes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLING, REPO_ROOT } from '../lib/countersign-function';

export interface BundleFigure {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly loadMs: number;
}

const LOAD_RUNS = 5;
const run = promisify(execFile);

async function loadMs(file: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < LOAD_RUNS; i++) {
    const { stdout } = await run(
      process.execPath,
      ['--enable-source-maps', '-e', 'const t = performance.now(); require(process.argv[1]); console.log(performance.now() - t)', file],
      {
        // Lambda runs nodejs22.x; this machine's Node 20 would make the SDK print its notice on every load.
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    times.push(Number(stdout.trim()));
  }
  return times.sort((a, b) => a - b)[Math.floor(LOAD_RUNS / 2)]!;
}

async function bundle(name: string, entry: string, outdir: string): Promise<BundleFigure> {
  const outfile = join(outdir, `${name}.js`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: BUNDLING.target,
    format: BUNDLING.format,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    sourcesContent: BUNDLING.sourcesContent,
    logLevel: 'error',
  });
  const code = readFileSync(outfile);
  return { name, bytes: statSync(outfile).size, gzipBytes: gzipSync(code).length, loadMs: await loadMs(outfile) };
}

/** The empty function first, then each function under lambdas/ that has a handler. */
export async function bundleFigures(outdir: string): Promise<BundleFigure[]> {
  mkdirSync(outdir, { recursive: true });
  const empty = join(outdir, 'empty-handler.ts');
  writeFileSync(empty, 'export const handler = async () => ({ statusCode: 200 });\n');
  const figures = [await bundle('(empty function)', empty, outdir)];
  const lambdas = join(REPO_ROOT, 'lambdas');
  for (const dir of readdirSync(lambdas).sort()) {
    const entry = join(lambdas, dir, 'handler.ts');
    try {
      statSync(entry);
    } catch {
      continue;
    }
    figures.push(await bundle(dir, entry, outdir));
  }
  return figures;
}
