/**
 * Local mode builds the function code once per code version and makes each policy's bundles from it by replacing the
 * inlined policy (local/bundles.ts). These tests hold it to what the stack deploys: the bundles (and source maps) it
 * makes for a policy are byte for byte those a `cdk synth` with bundling builds for that policy.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lambdas/adapters/config-file';
import type { Config } from '../../lambdas/core/config';
import { BUNDLING, bundleDefines } from '../../lib/bundling';
import { buildBundles, bundleKey, cachedBundles, codeKey, deriveBundles, printedLiteral, replaceLiteral, templateKey } from '../../local/bundles';
import type { CfnTemplate } from '../../local/cfn';
import { synthesizeForLocal } from '../../local/synth';
import { ROOT } from './harness';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A small module in the shape of the handlers: the define read in a function, code after it and on later lines. */
const SOURCE = `
export function banner(): string { return \`first
second\` + tail(); }
let cached: { text: string; value: unknown } | undefined;
function read(): unknown {
  const text = process.env.COUNTERSIGN_CONFIG_JSON;
  if (!text) throw new Error('COUNTERSIGN_CONFIG_JSON is not set');
  if (cached?.text !== text) cached = { text, value: JSON.parse(text) };
  return cached.value;
}
export const policy = () => [read(), tail(), other()];
function tail(): string { return 'tail'; }
function other(): string { return \`x
y\`; }
`;

async function bundleWith(value: unknown): Promise<{ literal: string; code: Buffer; map: string }> {
  const define = { 'process.env.COUNTERSIGN_CONFIG_JSON': JSON.stringify(JSON.stringify(value)) };
  const result = await build({
    stdin: { contents: SOURCE, sourcefile: 'handler.ts', loader: 'ts', resolveDir: ROOT },
    bundle: true,
    platform: 'node',
    outfile: join(ROOT, 'virtual', 'index.js'),
    write: false,
    define,
    minify: BUNDLING.minify,
    sourcemap: true,
    sourcesContent: BUNDLING.sourcesContent,
    target: BUNDLING.target,
    format: BUNDLING.format,
  });
  const file = (suffix: string) => result.outputFiles.find((f) => f.path.endsWith(suffix))!;
  const literal = await printedLiteral(define);
  expect(literal).toBeDefined();
  return { literal: literal!, code: Buffer.from(file('index.js').contents), map: file('index.js.map').text };
}

describe('replacing the inlined policy', () => {
  it('gives exactly what esbuild builds for the other policy, source map included, whatever quotes it prints', async () => {
    const values = [
      { version: 1, a: 'plain' },
      { version: 1, a: "it's", b: 'longer than the first one by a fair margin' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${x} must survive the round trip
      { version: 1, a: 'all of \' " ` ${x} \\ é 😀 </script> \u2028', nested: { list: [1, 2, 3] } },
      { v: 1 },
    ];
    const built = await Promise.all(values.map(bundleWith));
    // esbuild's choice of quotes follows the text: the cases cover more than one.
    expect(new Set(built.map((b) => b.literal[0])).size).toBeGreaterThan(1);
    for (const from of built) {
      for (const to of built) {
        const replaced = replaceLiteral(from.code, from.map, from.literal, to.literal);
        expect(replaced.code.toString()).toBe(to.code.toString());
        expect(replaced.map).toBe(to.map);
      }
    }
  });

  it('refuses a literal that is not in the bundle exactly once', async () => {
    const { code, map, literal } = await bundleWith({ version: 1 });
    expect(() => replaceLiteral(code, map, "'absent'", literal)).toThrow(/exactly once/);
    const twice = Buffer.concat([code, Buffer.from(`;${literal}`)]);
    expect(() => replaceLiteral(twice, map, literal, "'x'")).toThrow(/exactly once/);
  });
});

/** The template with the assets' hashes (which name the bundles' contents, or stand in for them unbundled) blanked. */
function withoutAssetHashes(template: CfnTemplate): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset hash>'));
}

describe('the bundle cache', () => {
  it("makes a policy's bundles from the code built for another policy, byte for byte what cdk synth bundles for it", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'countersign-bundles-'));
    dirs.push(cacheDir);
    const reference = loadConfigFile(join(ROOT, 'countersign.config.yaml'));
    // Another policy, with text esbuild must quote and escape differently.
    const other: Config = {
      ...reference,
      rules: reference.rules.map((rule, i) => (i === 0 ? { ...rule, reason: "It's never automated: é, </script> and a \\ backslash." } : rule)),
      auditors: [...reference.auditors, 'second-auditor@example.com'],
    };
    const [referenceLiteral, otherLiteral] = await Promise.all([reference, other].map((c) => printedLiteral(bundleDefines(c))));
    expect(referenceLiteral![0]).not.toBe(otherLiteral![0]);

    // New code: a synth with bundling, whose assembly becomes the code entry.
    expect(await buildBundles(reference, cacheDir)).toMatchObject({ how: 'bundled' });
    // Another policy with the same channels, auth and operations: made in this process, with no synth at all.
    expect(await deriveBundles(other, cacheDir)).toBe(true);
    // A third, with other rules only, by the child's way: a synth without bundling.
    const third: Config = { ...reference, rules: reference.rules.slice(1) };
    expect(await buildBundles(third, cacheDir)).toMatchObject({ how: 'replaced' });
    // A policy with another channel cannot take a kept template: the stack reads channels.
    const withSlack: Config = {
      ...reference,
      channels: { ...reference.channels, slack: { botToken: 'env:SLACK_BOT_TOKEN', signingSecret: 'env:SLACK_SIGNING_SECRET' } },
    };
    expect(templateKey(withSlack)).not.toBe(templateKey(reference));
    expect(await deriveBundles(withSlack, cacheDir)).toBe(false);
    // A start with either is a cache hit.
    const referenceEntry = cachedBundles(bundleKey(reference), cacheDir)!;
    const otherEntry = cachedBundles(bundleKey(other), cacheDir)!;
    expect(referenceEntry).toBeDefined();
    expect(otherEntry).toBeDefined();

    // The reference policy's bundles are the code entry's assets, which its synth with bundling built.
    const code = JSON.parse(readFileSync(join(cacheDir, `code-${codeKey()}`, 'code.json'), 'utf8')) as {
      literal: string;
      functions: Record<string, { dir: string }>;
    };
    expect(code.literal).toBe(referenceLiteral);
    for (const [id, file] of referenceEntry.files) {
      const asset = join(cacheDir, `code-${codeKey()}`, code.functions[id]!.dir);
      expect(sha256(readFileSync(file)), id).toBe(sha256(readFileSync(join(asset, 'index.js'))));
      expect(sha256(readFileSync(`${file}.map`)), id).toBe(sha256(readFileSync(join(asset, 'index.js.map'))));
    }

    // What `cdk synth` builds for the other policy, beside the cache entries (source maps name sources relatively).
    const real = synthesizeForLocal(other, { bundle: true, outdir: join(cacheDir, 'real-synth') });
    expect([...otherEntry.functions.keys()].sort()).toEqual([...real.functions.keys()].sort());
    let inlining = 0;
    for (const fn of real.functions.values()) {
      const made = otherEntry.files.get(fn.logicalId)!;
      const bundle = readFileSync(join(fn.asset!, 'index.js'));
      expect(sha256(readFileSync(made)), `${fn.path} index.js`).toBe(sha256(bundle));
      expect(sha256(readFileSync(`${made}.map`)), `${fn.path} index.js.map`).toBe(sha256(readFileSync(join(fn.asset!, 'index.js.map'))));
      if (bundle.includes(otherLiteral!)) {
        inlining += 1;
        expect(sha256(readFileSync(referenceEntry.files.get(fn.logicalId)!)), `${fn.path} differs by policy`).not.toBe(sha256(bundle));
      }
    }
    // The functions that read the policy (all but the checkpointer) have it inlined.
    expect(inlining).toBeGreaterThanOrEqual(5);
    // The kept template, and one synthesized without bundling, are the bundling synth's apart from the assets' hashes.
    expect(withoutAssetHashes(otherEntry.template)).toEqual(withoutAssetHashes(real.template));
    expect(withoutAssetHashes(cachedBundles(bundleKey(third), cacheDir)!.template)).toEqual(withoutAssetHashes(real.template));
  }, 240_000);
});
