/**
 * Per function: the size of its bundle, what fills it, and its cold module load, next to its floor: a bundle that only
 * imports and constructs the SDK clients the function uses, built and loaded the same way in the same run.
 * Bundles are built as the stack builds them (esbuild through NodejsFunction: see BUNDLING in
 * lib/countersign-function.ts); a load is `require` of the bundle in a fresh `node --enable-source-maps`, as Lambda's
 * init does. Each round loads every bundle a few times, interleaved so drift hits them alike; a figure is the median
 * of the rounds' medians, with their spread.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { BUNDLING } from '../lib/bundling';
import { REPO_ROOT } from '../lib/countersign-function';
import { median, type Repeated } from './stats';

/** The SDK clients a function constructs, as its code does (adapters/aws-clients.ts, outbox.ts, secrets.ts). */
const CLIENTS = {
  dynamodb: {
    imports: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    make: 'DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } })',
  },
  kms: { imports: "import { KMSClient } from '@aws-sdk/client-kms';", make: 'new KMSClient({})' },
  sfn: { imports: "import { SFNClient } from '@aws-sdk/client-sfn';", make: 'new SFNClient({})' },
  sesv2: { imports: "import { SESv2Client } from '@aws-sdk/client-sesv2';", make: 'new SESv2Client({})' },
  secretsManager: { imports: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';", make: 'new SecretsManagerClient({})' },
} as const;
type Client = keyof typeof CLIENTS;

/**
 * The clients each function's code can construct: the ports its use cases take (lambdas/app/*: `Pick<Ports, …>`),
 * the outbox meaning SES and Secrets Manager (Slack and Teams secrets).
 */
export const FUNCTION_CLIENTS: Readonly<Record<string, readonly Client[]>> = {
  intake: ['dynamodb', 'kms', 'sfn'],
  decision: ['dynamodb', 'kms', 'sfn', 'sesv2', 'secretsManager'],
  notifier: ['dynamodb', 'kms', 'sesv2', 'secretsManager'],
  finalize: ['dynamodb', 'kms', 'sfn', 'sesv2', 'secretsManager'],
  checkpoint: ['dynamodb', 'kms'],
  repair: ['dynamodb', 'kms', 'sfn'],
  console: ['dynamodb', 'kms', 'sfn'],
};

export interface BundleFigure {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Cold module load, ms: median of the rounds and their spread. */
  readonly load: Repeated;
  /** The floor's name (the clients it constructs), size and load. */
  readonly floor: { readonly name: string; readonly bytes: number; readonly load: Repeated };
  /**
   * The floor plus the SDK commands the function's bundle holds (found in its metafile), each imported and made:
   * what the AWS calls it makes cost in bytes and load before any of Countersign's code or zod.
   */
  readonly withCommands: { readonly commands: readonly string[]; readonly bytes: number; readonly load: Repeated };
  /** The largest inputs (npm packages, or the repository's folders), bytes in the output. */
  readonly top: ReadonlyArray<readonly [string, number]>;
}

const ROUNDS = 3;
const LOADS_PER_ROUND = 3;
const run = promisify(execFile);

async function loadOnce(file: string): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--enable-source-maps', '-e', 'const t = performance.now(); require(process.argv[1]); console.log(performance.now() - t)', file],
    // Lambda runs nodejs22.x; this machine's Node 20 would make the SDK print its notice on every load.
    { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_REGION: 'us-east-1' } },
  );
  return Number(stdout.trim());
}

interface Built {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly metafile: Metafile;
}

/** Builds `entry` (a file, or a floor's source resolved from the repository) as the stack builds a function. */
async function bundle(name: string, entry: string | { readonly contents: string }, outdir: string): Promise<Built> {
  const file = join(outdir, `${name}.js`);
  const { metafile } = await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, loader: 'ts', resolveDir: REPO_ROOT, sourcefile: `${name}.ts` } }),
    outfile: file,
    bundle: true,
    platform: 'node',
    target: BUNDLING.target,
    format: BUNDLING.format,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    sourcesContent: BUNDLING.sourcesContent,
    mainFields: [...BUNDLING.mainFields],
    alias: { ...BUNDLING.alias },
    metafile: true,
    logLevel: 'error',
  });
  return { file, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length, metafile };
}

/** Bytes in the output by npm package (or repository folder), largest first. */
export function topInputs(metafile: Metafile, count = 6): Array<[string, number]> {
  const by = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
      by.set(pkg, (by.get(pkg) ?? 0) + input.bytesInOutput);
    }
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, count);
}

/** An SDK command module in a bundle: `@aws-sdk/client-kms/dist-es/commands/SignCommand.js` (or lib-dynamodb's). */
const COMMAND_INPUT = /node_modules\/(@aws-sdk\/(?:client-[a-z0-9-]+|lib-dynamodb))\/dist-es\/commands\/(\w+Command)\.js$/;

/** The SDK commands (package, class) a built bundle kept: those with bytes in its output, not just in an index's imports. */
export function commandsIn(metafile: Metafile): Array<readonly [string, string]> {
  const found = new Map<string, readonly [string, string]>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const match = input.bytesInOutput > 0 ? COMMAND_INPUT.exec(path) : null;
      if (match) found.set(`${match[1]}/${match[2]}`, [match[1]!, match[2]!]);
    }
  }
  return [...found.values()].sort((a, b) => `${a[0]}/${a[1]}`.localeCompare(`${b[0]}/${b[1]}`));
}

/** Each function under lambdas/ (FUNCTION_CLIENTS), with its floor, sizes and cold loads. */
export async function bundleFigures(outdir: string): Promise<BundleFigure[]> {
  mkdirSync(outdir, { recursive: true });
  const floors = new Map<string, Built>();
  const functions: Array<{ name: string; built: Built; floor: string; withCommands: Built; commands: string[] }> = [];
  const floorSource = (clients: readonly Client[]) =>
    `${clients.map((c) => CLIENTS[c].imports).join('\n')}\nexport const clients = [${clients.map((c) => CLIENTS[c].make).join(', ')}];\n` +
    'export const handler = async () => ({ statusCode: 200 });\n';
  for (const [name, clients] of Object.entries(FUNCTION_CLIENTS)) {
    const floor = [...clients].sort().join('+');
    if (!floors.has(floor)) floors.set(floor, await bundle(`floor-${floors.size}`, { contents: floorSource(clients) }, outdir));
    const built = await bundle(name, join(REPO_ROOT, 'lambdas', name, 'handler.ts'), outdir);
    const commands = commandsIn(built.metafile);
    const contents = `${floorSource(clients)}${commands.map(([pkg, command]) => `import { ${command} } from '${pkg}';`).join('\n')}
export const commands = [${commands.map(([, command]) => `new ${command}({} as never)`).join(', ')}];\n`;
    const withCommands = await bundle(`${name}-floor-commands`, { contents }, outdir);
    // The operations, once each (lib-dynamodb's commands wrap the client's: its `Put` is PutItem).
    const operations = commands.filter(([pkg]) => pkg !== '@aws-sdk/lib-dynamodb').map(([, command]) => command.replace(/Command$/, ''));
    functions.push({ name, built, floor, withCommands, commands: operations });
  }
  // Cold loads: one warm-up load of each (the file cache), then interleaved rounds.
  const files = [...functions.flatMap((f) => [f.built.file, f.withCommands.file]), ...[...floors.values()].map((b) => b.file)];
  for (const file of files) await loadOnce(file);
  const rounds = new Map<string, number[]>(files.map((f) => [f, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const file of files) {
      const times: number[] = [];
      for (let i = 0; i < LOADS_PER_ROUND; i++) times.push(await loadOnce(file));
      rounds.get(file)!.push(median(times));
    }
  }
  const repeated = (file: string): Repeated => {
    const values = rounds.get(file)!;
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  return functions.map(({ name, built, floor, withCommands, commands }) => {
    const floorBuilt = floors.get(floor)!;
    return {
      name,
      bytes: built.bytes,
      gzipBytes: built.gzipBytes,
      load: repeated(built.file),
      floor: { name: floor, bytes: floorBuilt.bytes, load: repeated(floorBuilt.file) },
      withCommands: { commands, bytes: withCommands.bytes, load: repeated(withCommands.file) },
      top: topInputs(built.metafile),
    };
  });
}
